package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
	"github.com/kafka-redis-connector/kafka-redis-connector/internal/latency"
	"github.com/kafka-redis-connector/kafka-redis-connector/loadgen"
	"github.com/kafka-redis-connector/kafka-redis-connector/sink"
)

// rawPipelines are the pipeline sizes the raw sink is measured with; the
// best one is its ceiling.
var rawPipelines = []int{100, 500, 1000}

// rawEntries builds, in memory, the XADD commands the connector sends for
// the backlog (same stream, fields, metadata and value sizes), so the raw
// sink writes exactly what the connector writes.
func rawEntries(topic, stream string, n int64, size int, partitions int32, keys int) ([][]any, error) {
	mapping, err := sink.NewFieldMapping(config.Default().Stream)
	if err != nil {
		return nil, err
	}
	gen, err := loadgen.New(loadgen.Config{Topic: topic, Partitions: partitions, Count: n, Size: size, Keys: keys})
	if err != nil {
		return nil, err
	}
	run := gen.Config().Run
	keyBytes := make([][]byte, keys)
	for k := range keyBytes {
		keyBytes[k] = []byte(fmt.Sprintf("key-%d", k))
	}
	// Values, formatted numbers and argument lists come from a few large
	// slabs rather than millions of small allocations: the entries of a
	// 1,000,000-record backlog stay around 400 MB.
	var values, arena []byte
	var argSlab []any
	next := make([]int64, partitions)
	out := make([][]any, n)
	now := time.Now()
	for i := range n {
		rec := &kgo.Record{Topic: topic, Timestamp: now}
		if keys > 0 {
			k := int(i % int64(keys))
			rec.Key = keyBytes[k]
			rec.Partition = int32(k % int(partitions))
		} else {
			rec.Partition = int32(i % int64(partitions))
		}
		rec.Offset = next[rec.Partition]
		next[rec.Partition]++
		if cap(values)-len(values) < size+64 {
			values = make([]byte, 0, max(1<<20, size+64))
		}
		start := len(values)
		values = loadgen.AppendValue(values, run, rec.Partition, rec.Offset, now, size)
		rec.Value = values[start:len(values):len(values)]
		if cap(arena)-len(arena) < 64 {
			arena = make([]byte, 0, 1<<20)
		}
		if cap(argSlab)-len(argSlab) < 32 {
			argSlab = make([]any, 0, 1<<16)
		}
		begin := len(argSlab)
		args, a, err := mapping.AppendFields(append(argSlab, "xadd", stream, "*"), arena, rec)
		if err != nil {
			return nil, err
		}
		arena, argSlab = a, args
		out[i] = args[begin:len(args):len(args)]
	}
	return out, nil
}

// rawSink writes entries with pipelines of the given size, one pipeline in
// flight at a time, and returns its figures and the pipelines' round trips.
func rawSink(ctx context.Context, rdb redis.UniversalClient, entries [][]any, pipeline, valueBytes int) (Measurement, latency.Counts, error) {
	var rtt latency.Histogram
	m := startMeter()
	cmds := make([]*redis.Cmd, 0, pipeline)
	for start := 0; start < len(entries); start += pipeline {
		end := min(start+pipeline, len(entries))
		t0 := time.Now()
		pipe := rdb.Pipeline()
		cmds = cmds[:0]
		for _, args := range entries[start:end] {
			cmd := redis.NewCmd(ctx, args...)
			_ = pipe.Process(ctx, cmd)
			cmds = append(cmds, cmd)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return Measurement{}, latency.Counts{}, fmt.Errorf("bench: raw pipeline: %w", err)
		}
		rtt.Record(time.Since(t0))
	}
	out := m.stop(fmt.Sprintf("raw/%d", pipeline), int64(len(entries)), valueBytes)
	lat := rtt.Snapshot()
	out.LatencyP50Ms, out.LatencyP99Ms = msOf(lat.Quantile(0.50)), msOf(lat.Quantile(0.99))
	return out, lat, nil
}

// bestRaw measures every pipeline size and returns the fastest.
func (e *env) bestRaw(ctx context.Context, rdb redis.UniversalClient, stream string, entries [][]any, valueBytes int) (Measurement, error) {
	var best Measurement
	for _, size := range rawPipelines {
		m, _, err := rawSink(ctx, rdb, entries, size, valueBytes)
		if err != nil {
			return m, err
		}
		fmt.Fprintf(e.log, "bench:   raw pipeline %d: %.0f events/s\n", size, m.EventsPerSec)
		if err := e.rdb.Unlink(ctx, stream).Err(); err != nil {
			return m, fmt.Errorf("bench: unlink %s: %w", stream, err)
		}
		if m.EventsPerSec > best.EventsPerSec {
			best = m
		}
	}
	best.Note = joinNote(best.Note, fmt.Sprintf("best pipeline size %s of %v; RSS includes the entries held in memory; latency is a pipeline's round trip",
		best.Name[len("raw/"):], rawPipelines))
	best.Name = "raw"
	return best, nil
}

// runRaw measures the raw sink ceiling on the backlog's entries.
func (e *env) runRaw(ctx context.Context, backlog string) (Measurement, error) {
	stream := backlog + ":raw"
	entries, err := rawEntries(backlog, stream, e.cfg.Records, e.cfg.ValueBytes, e.cfg.Partitions, e.cfg.Keys)
	if err != nil {
		return Measurement{}, err
	}
	rdb, err := sink.NewClient(config.Redis{Addrs: []string{e.cfg.RedisAddr}, Mode: "standalone",
		DialTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second})
	if err != nil {
		return Measurement{}, err
	}
	defer rdb.Close()
	return e.bestRaw(ctx, rdb, stream, entries, e.cfg.ValueBytes)
}
