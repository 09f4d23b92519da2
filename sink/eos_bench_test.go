package sink_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
	"github.com/kafka-redis-connector/kafka-redis-connector/sink"
)

// BenchmarkWriteGuarantee measures one 500-record Write (8 partitions, one
// stream) under each guarantee: at_least_once on the default (direct)
// transport, exactly_once through the script. Against the real Redis at
// KRC_BENCH_REDIS_ADDR when set (its keys krcbench-* are deleted after each
// Write), else an in-process one. Per-op time / 500 is the per-record cost,
// server included.
func BenchmarkWriteGuarantee(b *testing.B) {
	addr := os.Getenv("KRC_BENCH_REDIS_ADDR")
	if addr == "" {
		addr = miniredis.RunT(b).Addr()
	}
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer rdb.Close()
	cfg := config.Default().Stream
	cfg.Key = "krcbench-{topic}"
	keys := []string{"krcbench-events", "krc-offsets:{krcbench-events}"}
	for _, g := range []struct {
		name string
		opts []sink.WriterOption
		// runs: the records in runs of one partition, as a fetch hands them
		// out, with entry IDs from their timestamps.
		runs bool
	}{{config.AtLeastOnce, nil, false}, {config.ExactlyOnce, []sink.WriterOption{sink.WithExactlyOnce()}, false},
		{config.ExactlyOnce + "/runs", []sink.WriterOption{sink.WithExactlyOnce()}, true}} {
		b.Run(g.name, func(b *testing.B) {
			cfg := cfg
			recs := benchRecords(500, 100)
			if g.runs {
				cfg.ID = config.StreamIDTimestamp
				for i, r := range recs {
					r.Partition, r.Offset = int32(i/63), int64(i)
					r.Timestamp = r.Timestamp.Add(time.Duration(i) * time.Millisecond)
				}
			}
			w, err := sink.NewWriter(rdb, cfg, g.opts...)
			if err != nil {
				b.Fatal(err)
			}
			defer w.Close()
			ctx := context.Background()
			if err := sink.LoadScript(ctx, rdb); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := w.Write(ctx, recs); err != nil {
					b.Fatal(err)
				}
				rdb.Del(ctx, keys...)
			}
		})
	}
}
