package loadgen

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafka-redis-connector/kafka-redis-connector/internal/latency"
	"github.com/kafka-redis-connector/kafka-redis-connector/oracle"
	"github.com/kafka-redis-connector/kafka-redis-connector/sink"
)

// VerifyReport is the outcome of reading a run's records back from Redis.
type VerifyReport struct {
	oracle.Report
	// Foreign counts entries of other runs or without a loadgen value.
	Foreign int
	// Latency is, per entry, the time from the producer's send to the
	// entry's stream ID (Redis's clock, millisecond resolution, so each
	// figure is up to 1ms low).
	Latency latency.Counts
	Streams []string
}

// String summarises the report on one line.
func (r VerifyReport) String() string {
	return fmt.Sprintf("%s foreign=%d latency p50=%s p95=%s p99=%s max=%s",
		r.Report, r.Foreign, ms(r.Latency.Quantile(0.50)), ms(r.Latency.Quantile(0.95)),
		ms(r.Latency.Quantile(0.99)), ms(r.Latency.Max()))
}

func ms(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 2, 64) + "ms" }

// StreamKeys renders the stream keys the run's records go to under the
// stream key template (the connector's stream.key).
func (g *Generator) StreamKeys(template string) ([]string, error) {
	t, err := sink.ParseStreamKeyTemplate(template)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []string
	add := func(rec *kgo.Record) error {
		b, ok := t.AppendKey(nil, rec)
		if !ok {
			return fmt.Errorf("loadgen: stream template %q cannot be rendered for loadgen records (they carry no headers)", template)
		}
		if !seen[string(b)] {
			seen[string(b)] = true
			out = append(out, string(b))
		}
		return nil
	}
	for p := range g.cfg.Partitions {
		keys := g.keysOf(p)
		if len(keys) == 0 {
			keys = [][]byte{nil}
		}
		for _, k := range keys {
			if err := add(&kgo.Record{Topic: g.cfg.Topic, Partition: p, Key: k}); err != nil {
				return nil, err
			}
			if !t.PerRecord() {
				break
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// Verify reads the streams back until every acknowledged record of the run
// is there or timeout passed, and reports what was lost, duplicated or out
// of order, and the end-to-end latency. valueField names the entry field
// holding the record value (the connector's stream.value_field).
func (g *Generator) Verify(ctx context.Context, rdb redis.Cmdable, streams []string, valueField string, timeout time.Duration) (VerifyReport, error) {
	chk := oracle.NewChecker()
	g.Expected(chk.Expect)
	rep := VerifyReport{Streams: streams}
	var lat latency.Histogram
	last := make(map[string]string, len(streams))
	deadline := time.Now().Add(timeout)
	for {
		n, err := g.readNew(ctx, rdb, streams, valueField, last, chk, &rep, &lat)
		if err != nil {
			rep.Latency = lat.Snapshot()
			return rep, err
		}
		r := chk.Report()
		if r.Lost == 0 || time.Now().After(deadline) {
			rep.Report, rep.Latency = r, lat.Snapshot()
			return rep, nil
		}
		if n == 0 {
			select {
			case <-ctx.Done():
				rep.Report, rep.Latency = r, lat.Snapshot()
				return rep, ctx.Err()
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
}

// readNew reads the entries after last[stream] of every stream into chk and
// lat and returns how many it read.
func (g *Generator) readNew(ctx context.Context, rdb redis.Cmdable, streams []string, valueField string,
	last map[string]string, chk *oracle.Checker, rep *VerifyReport, lat *latency.Histogram) (int, error) {
	total := 0
	for _, key := range streams {
		start := "-"
		if id, ok := last[key]; ok {
			start = "(" + id
		}
		err := sink.ReadStreamRange(ctx, rdb, key, start, "+", func(id string, values map[string]any) error {
			g.observe(id, values, valueField, chk, rep, lat)
			last[key] = id
			total++
			return nil
		})
		if err != nil {
			return total, fmt.Errorf("loadgen: verify: %w", err)
		}
	}
	return total, nil
}

func (g *Generator) observe(id string, values map[string]any, valueField string, chk *oracle.Checker, rep *VerifyReport, lat *latency.Histogram) {
	v, _ := values[valueField].(string)
	h, err := ParseValue([]byte(v))
	if err != nil || h.Run != g.cfg.Run {
		rep.Foreign++
		return
	}
	chk.Observe(h.Partition, h.Seq)
	msText, _, _ := strings.Cut(id, "-")
	if at, err := strconv.ParseInt(msText, 10, 64); err == nil {
		lat.Record(time.UnixMilli(at).Sub(h.Sent))
	}
}
