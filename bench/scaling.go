package bench

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
	"github.com/kafka-redis-connector/kafka-redis-connector/loadgen"
	"github.com/kafka-redis-connector/kafka-redis-connector/sink"
)

// ScalingConfig describes the scaling table: every partition count times
// every value size, each cell a fresh backlog drained by the tuned
// connector, next to the raw sink (pipelines of 500) on the same entries,
// best of Config.Rounds rounds each.
type ScalingConfig struct {
	Partitions []int32
	ValueBytes []int
	// Records per cell, capped so a cell holds at most MaxBytes of values.
	Records  int64
	MaxBytes int64
}

// DefaultScaling is the table: 1, 8, 64 partitions x 100 B, 1 KiB,
// 10 KiB, at most 500,000 records or 256 MiB of values per cell.
func DefaultScaling() ScalingConfig {
	return ScalingConfig{Partitions: []int32{1, 8, 64}, ValueBytes: []int{100, 1024, 10240},
		Records: 500_000, MaxBytes: 256 << 20}
}

// RunScaling measures the scaling table. cfg supplies Kafka, Redis, the
// tuned settings and the timeouts.
func RunScaling(ctx context.Context, cfg Config, sc ScalingConfig) ([]ScalingCell, error) {
	e, err := newEnv(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer e.close(ctx)
	var cells []ScalingCell
	for _, p := range sc.Partitions {
		for _, size := range sc.ValueBytes {
			n := min(sc.Records, max(sc.MaxBytes/int64(size), 1))
			cell, err := e.scalingCell(ctx, p, size, n)
			if err != nil {
				return cells, fmt.Errorf("scaling %d partitions x %d B: %w", p, size, err)
			}
			fmt.Fprintf(e.log, "bench: scaling %2d partitions x %5d B: %d records, raw %.0f/s, tuned %.0f/s, %.2f µs/event\n",
				p, size, n, cell.RawEPS, cell.EventsPerSec, cell.CPUUsPerEvent)
			cells = append(cells, cell)
		}
	}
	return cells, nil
}

func (e *env) scalingCell(ctx context.Context, partitions int32, size int, n int64) (ScalingCell, error) {
	cell := ScalingCell{Partitions: partitions, ValueBytes: size, Records: n}
	name := "scale-" + strconv.Itoa(int(partitions)) + "-" + strconv.Itoa(size)
	topic := e.topic(name)
	if err := e.createTopic(ctx, topic, partitions); err != nil {
		return cell, err
	}
	keys := max(e.cfg.Keys, int(partitions))
	if _, err := e.produce(ctx, loadgen.Config{Topic: topic, Partitions: partitions, Count: n, Size: size, Keys: keys},
		5*time.Millisecond); err != nil {
		return cell, err
	}
	rdb, err := sink.NewClient(config.Redis{Addrs: []string{e.cfg.RedisAddr}, Mode: "standalone",
		DialTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second})
	if err != nil {
		return cell, err
	}
	defer rdb.Close()
	// Rounds as in Run: each a fresh group draining the same backlog, then
	// the raw sink; the best of each is kept.
	for round := 1; round <= e.cfg.Rounds; round++ {
		cfg, err := e.connectorConfig(instance(name, round), e.cfg.Tuned, []string{topic})
		if err != nil {
			return cell, err
		}
		cfg.Stream.MaxEntryBytes = max(cfg.Stream.MaxEntryBytes, 2*size)
		r, m, err := e.drainConnector(ctx, cfg, n, size, profiles{})
		if err != nil {
			return cell, err
		}
		if err := r.close(); err != nil {
			return cell, fmt.Errorf("bench: connector: %w", err)
		}
		if m.EventsPerSec > cell.EventsPerSec {
			cell.EventsPerSec, cell.MBPerSec, cell.CPUUsPerEvent = m.EventsPerSec, m.MBPerSec, m.CPUUsPerEvent
		}
		cell.PeakRSSMiB = max(cell.PeakRSSMiB, m.PeakRSSMiB)
		if err := e.dropStreams(ctx, topic+":*"); err != nil {
			return cell, err
		}

		stream := topic + ":raw"
		entries, err := rawEntries(topic, stream, n, size, partitions, keys)
		if err != nil {
			return cell, err
		}
		raw, _, err := rawSink(ctx, rdb, entries, 500, size)
		if err != nil {
			return cell, err
		}
		cell.RawEPS = max(cell.RawEPS, raw.EventsPerSec)
		if err := e.rdb.Unlink(ctx, stream).Err(); err != nil {
			return cell, err
		}
	}
	return cell, e.deleteTopic(ctx, topic)
}
