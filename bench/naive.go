package bench

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
	"github.com/kafka-redis-connector/kafka-redis-connector/internal/latency"
	"github.com/kafka-redis-connector/kafka-redis-connector/loadgen"
	"github.com/kafka-redis-connector/kafka-redis-connector/sink"
)

// naiveForwarder is what one writes first: poll, one XADD round trip per
// record, commit after each poll. Same client settings, fields and streams
// as the connector; no batching, no pipelining.
type naiveForwarder struct {
	cl      *kgo.Client
	rdb     redis.UniversalClient
	mapping *sink.FieldMapping
	joined  atomic.Bool
	written atomic.Int64
	// latency holds, for records of the latency topic, the time from the
	// Kafka record timestamp to the XADD's reply (forward's goroutine only).
	latency      latency.Histogram
	latencyTopic string
}

func (e *env) newNaive(name string, topics []string) (*naiveForwarder, error) {
	cfg, err := e.connectorConfig(name, config.Default().Batch, topics)
	if err != nil {
		return nil, err
	}
	n := &naiveForwarder{}
	if n.mapping, err = sink.NewFieldMapping(cfg.Stream); err != nil {
		return nil, err
	}
	if n.rdb, err = sink.NewClient(cfg.Redis); err != nil {
		return nil, err
	}
	n.cl, err = kgo.NewClient(kgo.SeedBrokers(e.brokers...), kgo.ConsumerGroup(cfg.Kafka.Group),
		kgo.ConsumeTopics(topics...), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(), kgo.ClientID(cfg.Kafka.ClientID),
		kgo.OnPartitionsAssigned(func(context.Context, *kgo.Client, map[string][]int32) { n.joined.Store(true) }))
	if err != nil {
		n.rdb.Close()
		return nil, fmt.Errorf("bench: naive consumer: %w", err)
	}
	return n, nil
}

func (n *naiveForwarder) close() {
	n.cl.Close()
	n.rdb.Close()
}

// forward runs until ctx ends or stop returns true (checked after every
// record, so a budget ends it mid-poll, without that poll's commit).
func (n *naiveForwarder) forward(ctx context.Context, suffix string, stop func() bool) error {
	var args []any
	for ctx.Err() == nil && !stop() {
		// A bounded poll, so stop is checked while no records come.
		pctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		fetches := n.cl.PollFetches(pctx)
		cancel()
		if fetches.IsClientClosed() {
			return nil
		}
		if err := fetches.Err0(); err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("bench: naive poll: %w", err)
		}
		for it := fetches.RecordIter(); !it.Done(); {
			rec := it.Next()
			var err error
			args, _, err = n.mapping.AppendFields(append(args[:0], "xadd", rec.Topic+suffix, "*"), nil, rec)
			if err != nil {
				return err
			}
			cmd := redis.NewCmd(ctx, args...)
			if err := n.rdb.Process(ctx, cmd); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("bench: naive xadd: %w", err)
			}
			if rec.Topic == n.latencyTopic {
				n.latency.Record(time.Since(rec.Timestamp))
			}
			n.written.Add(1)
			if stop() {
				return nil
			}
		}
		if err := n.cl.CommitUncommittedOffsets(ctx); err != nil && ctx.Err() == nil {
			return fmt.Errorf("bench: naive commit: %w", err)
		}
	}
	return nil
}

// runNaive measures the naive forwarder on the backlog for at most the
// naive budget; in the first round also its end-to-end latency at the
// paced rate.
func (e *env) runNaive(ctx context.Context, backlog string, round int) (Measurement, error) {
	inst := instance("naive", round)
	topics := []string{backlog}
	paced := e.topic("paced-naive")
	if round == 1 {
		if err := e.createTopic(ctx, paced, e.cfg.Partitions); err != nil {
			return Measurement{}, err
		}
		topics = append(topics, paced)
	}
	n, err := e.newNaive(inst, topics)
	if err != nil {
		return Measurement{}, err
	}
	defer n.close()
	m := startMeter()
	// Poll in the background until joined, so the drain's clock starts at
	// the assignment, as the connector's does.
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var budgetEnd atomic.Int64 // unix nanos; 0 until joined
	var target = e.cfg.Records
	done := make(chan error, 1)
	go func() {
		done <- n.forward(fctx, ":"+inst, func() bool {
			end := budgetEnd.Load()
			return n.written.Load() >= target || (end != 0 && time.Now().UnixNano() >= end)
		})
	}()
	if err := wait(ctx, "naive: join the group", time.Millisecond, e.cfg.PhaseTimeout, done, n.joined.Load); err != nil {
		return Measurement{}, err
	}
	m.restart()
	budgetEnd.Store(time.Now().Add(e.cfg.NaiveBudget).UnixNano())
	if err := <-done; err != nil {
		return Measurement{}, err
	}
	out := m.stop("naive", n.written.Load(), e.cfg.ValueBytes)
	if out.Records < e.cfg.Records {
		out.Note = fmt.Sprintf("stopped after its %s budget: %d of %d records", e.cfg.NaiveBudget, out.Records, e.cfg.Records)
	}
	defer e.rdb.Unlink(ctx, backlog+":"+inst)
	if round > 1 {
		return out, nil
	}

	// The latency phase: only the paced topic from here on.
	n.cl.PauseFetchTopics(backlog)
	n.latencyTopic = paced
	base := n.written.Load()
	var want atomic.Int64
	want.Store(-1)
	go func() {
		done <- n.forward(fctx, ":"+inst, func() bool {
			w := want.Load()
			return w >= 0 && n.written.Load()-base >= w
		})
	}()
	gen, err := e.produce(ctx, loadgen.Config{Topic: paced, Partitions: e.cfg.Partitions, Rate: e.cfg.PacedRate,
		Duration: e.cfg.PacedDuration, Size: e.cfg.ValueBytes, Keys: e.cfg.Keys}, time.Millisecond)
	if err != nil {
		return out, err
	}
	want.Store(gen.Progress().Acked)
	select {
	case err = <-done:
	case <-time.After(e.cfg.PhaseTimeout):
		err = errors.New("bench: naive: paced records not written in time")
	}
	lat := n.latency.Snapshot()
	out.LatencyP50Ms, out.LatencyP99Ms = msOf(lat.Quantile(0.50)), msOf(lat.Quantile(0.99))
	return out, err
}
