package sink_test

import (
	"context"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
	"github.com/kafka-redis-connector/kafka-redis-connector/sink"
)

func benchRecords(n, size int) []*kgo.Record {
	recs := make([]*kgo.Record, n)
	val := make([]byte, size)
	for i := range recs {
		recs[i] = &kgo.Record{Topic: "events", Partition: int32(i % 8), Offset: int64(i), Key: []byte("user-17"),
			Value: val, Timestamp: time.UnixMilli(1700000000000)}
	}
	return recs
}

// BenchmarkAppendFields measures turning one 100-byte record into XADD
// arguments with the default mapping (value, key, four metadata fields).
func BenchmarkAppendFields(b *testing.B) {
	m, err := sink.NewFieldMapping(config.Default().Stream)
	if err != nil {
		b.Fatal(err)
	}
	rec := benchRecords(1, 100)[0]
	args := make([]any, 0, 16)
	var arena []byte
	b.ReportAllocs()
	for b.Loop() {
		args, arena, err = m.AppendFields(args[:0], arena[:0], rec)
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendFieldsJSON measures the json format on a small object.
func BenchmarkAppendFieldsJSON(b *testing.B) {
	cfg := config.Default().Stream
	cfg.Format = "json"
	m, err := sink.NewFieldMapping(cfg)
	if err != nil {
		b.Fatal(err)
	}
	rec := &kgo.Record{Topic: "events", Value: []byte(`{"id":123,"user":"u-17","action":"click","meta":{"a":1}}`)}
	args := make([]any, 0, 32)
	var arena []byte
	b.ReportAllocs()
	for b.Loop() {
		args, arena, err = m.AppendFields(args[:0], arena[:0], rec)
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWriteBatch measures one 500-record pipelined Write, encoding
// included, against an in-process Redis; per-op time divided by 500 is the
// per-record cost of the sink (and miniredis).
func BenchmarkWriteBatch(b *testing.B) {
	mr := miniredis.RunT(b)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr(), MaxRetries: -1})
	defer rdb.Close()
	w, err := sink.NewWriter(rdb, config.Default().Stream)
	if err != nil {
		b.Fatal(err)
	}
	recs := benchRecords(500, 100)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := w.Write(ctx, recs); err != nil {
			b.Fatal(err)
		}
		mr.FlushAll()
	}
}
