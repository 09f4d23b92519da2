package sink_test

import (
	"context"
	"os"
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

// BenchmarkAppendFields measures turning one record into XADD arguments
// (the generic path: go-redis pipelines and the json format): a 100-byte
// value with the default mapping (value, key, four metadata fields), and a
// small JSON object with the json format.
func BenchmarkAppendFields(b *testing.B) {
	jsonCfg := config.Default().Stream
	jsonCfg.Format = "json"
	for _, bc := range []struct {
		name string
		cfg  config.Stream
		rec  *kgo.Record
	}{
		{"raw", config.Default().Stream, benchRecords(1, 100)[0]},
		{"json", jsonCfg, &kgo.Record{Topic: "events", Value: []byte(`{"id":123,"user":"u-17","action":"click","meta":{"a":1}}`)}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			m, err := sink.NewFieldMapping(bc.cfg)
			if err != nil {
				b.Fatal(err)
			}
			args := make([]any, 0, 32)
			var arena []byte
			b.ReportAllocs()
			for b.Loop() {
				args, arena, err = m.AppendFields(args[:0], arena[:0], bc.rec)
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkWriteBatch measures one 500-record Write on each transport,
// encoding included, against an in-process Redis, or against the real one
// at KRC_BENCH_REDIS_ADDR when set; per-op time divided by 500 is the
// per-record cost of the sink (and the server).
func BenchmarkWriteBatch(b *testing.B) {
	addr := os.Getenv("KRC_BENCH_REDIS_ADDR")
	var flush func()
	if addr == "" {
		mr := miniredis.RunT(b)
		addr, flush = mr.Addr(), mr.FlushAll
	}
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer rdb.Close()
	if flush == nil {
		flush = func() { rdb.FlushAll(context.Background()) }
	}
	for _, tr := range []struct {
		name string
		opts []sink.WriterOption
	}{{"direct", nil}, {"go-redis", []sink.WriterOption{sink.WithGoRedisPipeline()}}} {
		b.Run(tr.name, func(b *testing.B) {
			w, err := sink.NewWriter(rdb, config.Default().Stream, tr.opts...)
			if err != nil {
				b.Fatal(err)
			}
			defer w.Close()
			recs := benchRecords(500, 100)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := w.Write(ctx, recs); err != nil {
					b.Fatal(err)
				}
				flush()
			}
		})
	}
}
