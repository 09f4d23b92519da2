package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
	"github.com/kafka-redis-connector/kafka-redis-connector/connector"
	"github.com/kafka-redis-connector/kafka-redis-connector/internal/latency"
	"github.com/kafka-redis-connector/kafka-redis-connector/internal/service"
	"github.com/kafka-redis-connector/kafka-redis-connector/loadgen"
)

// connRun is a connector running in this process, built as the run
// command builds it (internal/service: the same Redis client, writer,
// Kafka options and metrics), without the start-up check and the HTTP
// server.
type connRun struct {
	c    *connector.Connector
	svc  *service.Service
	stop context.CancelFunc
	done chan error
	err  error
	over bool
}

func (e *env) startConnector(ctx context.Context, cfg config.Config) (*connRun, error) {
	svc, err := service.Build(cfg, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	if err != nil {
		return nil, err
	}
	r := &connRun{c: svc.Connector, svc: svc, done: make(chan error, 1)}
	runCtx, stop := context.WithCancel(ctx)
	r.stop = stop
	go func() { r.done <- svc.Run(runCtx) }()
	return r, nil
}

// waitFor waits until cond holds for the connector's counters.
func (r *connRun) waitFor(ctx context.Context, what string, every, timeout time.Duration, cond func(connector.Snapshot) bool) error {
	return r.wait(ctx, what, every, timeout, func() bool { return cond(r.c.Snapshot()) })
}

func (r *connRun) wait(ctx context.Context, what string, every, timeout time.Duration, cond func() bool) error {
	err := wait(ctx, what, every, timeout, r.done, cond)
	if err != nil && ctx.Err() == nil {
		// The connector may have ended; do not wait for it again.
		select {
		case r.err = <-r.done:
			r.over = true
		default:
		}
	}
	return err
}

// waitWritten waits until the connector has written n records. It polls
// every 2 ms a counter that costs nothing to read: a Snapshot 500 times a
// second would itself show up in the drain's CPU profile.
func (r *connRun) waitWritten(ctx context.Context, what string, n uint64, timeout time.Duration) error {
	return r.wait(ctx, what, 2*time.Millisecond, timeout, func() bool { return r.c.Written() >= n })
}

// close stops the connector (flush, commit, leave the group) and returns
// Run's error.
func (r *connRun) close() error {
	r.stop()
	if !r.over {
		r.err = <-r.done
		r.over = true
	}
	r.svc.Close()
	return r.err
}

// drainConnector starts a connector on topics and measures it while it
// writes the first n records: from joining the group until n are written.
// The returned connector keeps running; close it.
// profiles names the files that receive profiles of a drain ("" for none):
// CPU over the whole drain, heap when half the records are written.
type profiles struct{ cpu, heap string }

func (e *env) drainConnector(ctx context.Context, cfg config.Config, n int64, valueBytes int, prof profiles) (*connRun, Measurement, error) {
	m := startMeter()
	r, err := e.startConnector(ctx, cfg)
	if err != nil {
		return nil, Measurement{}, err
	}
	fail := func(err error) (*connRun, Measurement, error) {
		_ = r.close()
		return nil, Measurement{}, err
	}
	// Joining the group is not part of the drain.
	if err := r.waitFor(ctx, "join the group", time.Millisecond, e.cfg.PhaseTimeout,
		func(s connector.Snapshot) bool { return s.InGroup }); err != nil {
		return fail(err)
	}
	if prof.cpu != "" {
		f, err := os.Create(prof.cpu)
		if err != nil {
			return fail(fmt.Errorf("bench: cpu profile: %w", err))
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fail(fmt.Errorf("bench: cpu profile: %w", err))
		}
		defer pprof.StopCPUProfile()
	}
	m.restart()
	if prof.heap != "" {
		if err := r.waitWritten(ctx, "drain half the backlog", uint64(n/2), e.cfg.PhaseTimeout); err != nil {
			return fail(err)
		}
		if err := writeHeapProfile(prof.heap); err != nil {
			return fail(err)
		}
	}
	if err := r.waitWritten(ctx, "drain the backlog", uint64(n), e.cfg.PhaseTimeout); err != nil {
		return fail(err)
	}
	return r, m.stop(cfg.Kafka.Group, n, valueBytes), nil
}

func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("bench: heap profile: %w", err)
	}
	if err := pprof.WriteHeapProfile(f); err != nil {
		f.Close()
		return fmt.Errorf("bench: heap profile: %w", err)
	}
	return f.Close()
}

// runConnector measures the connector with the given batch settings on the
// backlog; in the first round also its end-to-end latency at the paced
// rate.
func (e *env) runConnector(ctx context.Context, name string, batch config.Batch, backlog string, prof profiles, round int) (Measurement, error) {
	inst := instance(name, round)
	topics := []string{backlog}
	paced := e.topic("paced-" + name)
	if round == 1 {
		if err := e.createTopic(ctx, paced, e.cfg.Partitions); err != nil {
			return Measurement{}, err
		}
		topics = append(topics, paced)
	}
	cfg, err := e.connectorConfig(inst, batch, topics)
	if err != nil {
		return Measurement{}, err
	}
	r, m, err := e.drainConnector(ctx, cfg, e.cfg.Records, e.cfg.ValueBytes, prof)
	if err != nil {
		return m, err
	}
	m.Name = name
	stream := backlog + ":" + inst
	err = e.checkDelivered(ctx, stream, e.cfg.Records, cfg.Delivery.ExactlyOnce(), e.cfg.PhaseTimeout)
	if err == nil && round == 1 {
		var lat latency.Counts
		lat, _, err = e.paced(ctx, r, paced, e.cfg.PacedRate, e.cfg.PacedDuration, time.Millisecond)
		m.LatencyP50Ms, m.LatencyP99Ms = msOf(lat.Quantile(0.50)), msOf(lat.Quantile(0.99))
	}
	// Free Redis's memory only now: freeing a large stream in the
	// background would compete with the paced phase for CPU.
	_ = e.rdb.Unlink(ctx, stream).Err()
	if cerr := r.close(); err == nil && cerr != nil {
		err = fmt.Errorf("bench: connector: %w", cerr)
	}
	return m, err
}

// paced produces rate events/s for dur to topic, with the producer's
// linger, while the connector runs, waits until they are written, and
// returns the connector's end-to-end latency histogram for them (Kafka
// record timestamp to XADD acknowledged).
func (e *env) paced(ctx context.Context, r *connRun, topic string, rate int, dur, linger time.Duration) (latency.Counts, *loadgen.Generator, error) {
	before := r.c.Snapshot()
	gen, err := e.produce(ctx, loadgen.Config{Topic: topic, Partitions: e.cfg.Partitions, Rate: rate, Duration: dur,
		Size: e.cfg.ValueBytes, Keys: e.cfg.Keys}, linger)
	if err != nil {
		return latency.Counts{}, nil, err
	}
	want := before.Written + uint64(gen.Progress().Acked)
	if err := r.waitFor(ctx, "write the paced records", 5*time.Millisecond, e.cfg.PhaseTimeout,
		func(s connector.Snapshot) bool { return s.Written >= want }); err != nil {
		return latency.Counts{}, gen, err
	}
	return r.c.Snapshot().Latency.Sub(before.Latency), gen, nil
}

// runLatency runs the connector with default settings at the latency rate
// and checks the records with the oracle.
func (e *env) runLatency(ctx context.Context) (LatencyRun, error) {
	out := LatencyRun{Rate: e.cfg.LatencyRate, Seconds: e.cfg.LatencyDuration.Seconds()}
	topic := e.topic("latency")
	if err := e.createTopic(ctx, topic, e.cfg.Partitions); err != nil {
		return out, err
	}
	cfg, err := e.connectorConfig("latency", config.Default().Batch, []string{topic})
	if err != nil {
		return out, err
	}
	r, err := e.startConnector(ctx, cfg)
	if err != nil {
		return out, err
	}
	defer r.close()
	if err := r.waitFor(ctx, "join the group", time.Millisecond, e.cfg.PhaseTimeout,
		func(s connector.Snapshot) bool { return s.InGroup }); err != nil {
		return out, err
	}
	kafka, err := e.startKafkaOnly(ctx, topic)
	if err != nil {
		return out, err
	}
	// The producer sends each record at once: the time the connector adds
	// is measured, not the producer's batching (a linger of 1 ms, as in
	// the contenders' paced phases, adds about 1 ms to every quantile,
	// Kafka alone included).
	lat, gen, err := e.paced(ctx, r, topic, e.cfg.LatencyRate, e.cfg.LatencyDuration, 0)
	if err != nil {
		kafka.stop()
		return out, err
	}
	h, err := kafka.wait(ctx, gen.Progress().Acked, e.cfg.PhaseTimeout)
	if err != nil {
		return out, err
	}
	out.KafkaOnly = quantilesOf(h)
	out.Records = int64(lat.Count())
	out.P50Ms, out.P95Ms = msOf(lat.Quantile(0.50)), msOf(lat.Quantile(0.95))
	out.P99Ms, out.MaxMs = msOf(lat.Quantile(0.99)), msOf(lat.Quantile(1))
	streams, err := gen.StreamKeys(cfg.Stream.Key)
	if err != nil {
		return out, err
	}
	rep, err := gen.Verify(ctx, e.rdb, streams, cfg.Stream.ValueField, 10*time.Second)
	if err != nil {
		return out, err
	}
	out.Lost, out.Duplicated, out.OutOfOrder = rep.Lost, rep.Duplicated, rep.OutOfOrder
	out.ReadBack = quantilesOf(rep.Latency)
	if !rep.OK() {
		return out, fmt.Errorf("bench: latency run: %s", rep.Report)
	}
	return out, nil
}

// kafkaOnly is a plain group consumer that only records, per record, the
// time from its Kafka timestamp to the poll that returned it.
type kafkaOnly struct {
	cl     *kgo.Client
	cancel context.CancelFunc
	done   chan struct{}
	seen   atomic.Int64
	hist   latency.Histogram // the polling goroutine's until done closes
}

func (e *env) startKafkaOnly(ctx context.Context, topic string) (*kafkaOnly, error) {
	k := &kafkaOnly{done: make(chan struct{})}
	joined := make(chan struct{})
	var once sync.Once
	var err error
	k.cl, err = kgo.NewClient(kgo.SeedBrokers(e.brokers...), kgo.ConsumerGroup(e.group("kafka-only")),
		kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.OnPartitionsAssigned(func(context.Context, *kgo.Client, map[string][]int32) { once.Do(func() { close(joined) }) }))
	if err != nil {
		return nil, fmt.Errorf("bench: kafka-only consumer: %w", err)
	}
	pctx, cancel := context.WithCancel(ctx)
	k.cancel = cancel
	go func() {
		defer close(k.done)
		for pctx.Err() == nil {
			fetches := k.cl.PollFetches(pctx)
			now := time.Now()
			fetches.EachRecord(func(r *kgo.Record) {
				k.hist.Record(now.Sub(r.Timestamp))
				k.seen.Add(1)
			})
		}
	}()
	select {
	case <-joined:
		return k, nil
	case <-time.After(e.cfg.PhaseTimeout):
	case <-ctx.Done():
	}
	k.stop()
	return nil, errors.New("bench: kafka-only consumer did not join its group")
}

func (k *kafkaOnly) stop() {
	k.cancel()
	<-k.done
	k.cl.Close()
}

// wait waits until n records were seen, stops the consumer and returns its
// histogram.
func (k *kafkaOnly) wait(ctx context.Context, n int64, timeout time.Duration) (latency.Counts, error) {
	err := wait(ctx, "kafka-only consumer", 5*time.Millisecond, timeout, nil, func() bool { return k.seen.Load() >= n })
	k.stop()
	return k.hist.Snapshot(), err
}
