package connector

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
	"github.com/kafka-redis-connector/kafka-redis-connector/sink"
)

// Writer writes a batch of records to Redis. The connector consumes it; the
// sink implements it. It must be safe for concurrent use when
// batch.max_in_flight > 1.
type Writer interface {
	Write(ctx context.Context, recs []*kgo.Record) (sink.Result, error)
}

// Option configures optional dependencies of a Connector.
type Option func(*Connector)

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(c *Connector) { c.log = l } }

// WithRegisterer registers the connector's metrics on reg.
func WithRegisterer(reg prometheus.Registerer) Option { return func(c *Connector) { c.reg = reg } }

// WithKafkaOpts adds franz-go client options after the ones built from the
// configuration (TLS and SASL dialers, hooks, test settings).
func WithKafkaOpts(opts ...kgo.Opt) Option {
	return func(c *Connector) { c.extraOpts = append(c.extraOpts, opts...) }
}

// WithForceStop makes closing stop cut a shutdown under way short: nothing
// more is flushed or committed, and Run returns at once, saying what was
// left uncommitted (the second SIGTERM/SIGINT).
func WithForceStop(stop <-chan struct{}) Option { return func(c *Connector) { c.forceStop = stop } }

// Connector moves records from a Kafka consumer group to Redis streams.
//
// Partitions map to batch.max_in_flight lanes; each lane has its own
// Batcher and at most one flush in flight, so flushes run concurrently while
// each partition's records still reach Redis in Kafka order. A lane with
// nothing in flight flushes what it holds at once (natural batching); while
// its flush is in flight, records keep filling its next batch.
type Connector struct {
	cfg       config.Config
	writer    Writer
	log       *slog.Logger
	reg       prometheus.Registerer
	extraOpts []kgo.Opt
	forceStop <-chan struct{}
	metrics   *Metrics
	stats     counters
	policy    *flushPolicy
	// errorPolicy is errors.policy resolved: fail, skip or dlq.
	errorPolicy config.ErrorPolicy
	// client is the Kafka client of the current Run; it also produces to
	// the dead-letter topic.
	client *kgo.Client
	// fetchSizer sizes the fetches.
	fetchSizer *fetchSizer
	// limits adapts the batch size and the flushes in flight (those the
	// configuration leaves at 0); under mu.
	limits *flushLimits

	// results receives every batch a flush goroutine finished; it has room
	// for one per lane, so a flush never blocks on it.
	results chan *pendingBatch

	pollMu     sync.Mutex
	pollCancel context.CancelFunc // cancels the poll under way, to handle a result at once
	wakeCh     chan struct{}

	reasonsMu     sync.Mutex
	loggedReasons map[string]bool

	// The dead-letter producer (errors.policy dlq) runs on its own
	// goroutine: dlqQueue (under dlqMu) feeds it, dlqWake wakes it, and
	// its outcomes come back on dlqDone. dlqPending (under mu) counts the
	// records handed to it and not finished.
	dlqMu      sync.Mutex
	dlqQueue   []poisonRecord
	dlqWake    chan struct{}
	dlqDone    chan dlqOutcome
	dlqPending int

	// mu guards everything below; the poll loop and the rebalance
	// callbacks both take it.
	mu sync.Mutex
	// lanes schedules the batches; its stopping (shutdown began) also
	// means no more flushes at revoke.
	lanes   *laneSet
	tracker *OffsetTracker
	fatal   error
	hwm     map[topicPartition]int64
	// assigned is what this member owns; lagBase is the position the lag
	// counts from for a partition it has not made anything committable
	// in yet (the group's committed offset at assignment).
	assigned map[string][]int32
	lagBase  map[topicPartition]int64
	// lagAssigned asks watchLag for a full refresh (an assignment).
	lagAssigned chan struct{}

	// pausedLagRefresh is how often watchLag asks for end offsets while paused
	// (defaultPausedLagRefresh when 0).
	pausedLagRefresh time.Duration

	// asyncDone is closed when the asynchronous commit in flight has
	// answered; nil when none is.
	asyncDone    chan struct{}
	asyncOffsets map[string]map[int32]kgo.EpochOffset // what the commit in flight covers
	asyncOK      bool                                 // set by its callback before asyncDone closes
	recommit     atomic.Bool                          // an asynchronous commit failed: hand every offset out again
}

// New builds a connector for cfg, which must be valid, writing through w.
func New(cfg config.Config, w Writer, opts ...Option) *Connector {
	if cfg.Batch.MaxBufferedBytes <= 0 {
		// A Config built field by field before the key existed: without
		// this the lanes would count as full and nothing would be polled.
		cfg.Batch.MaxBufferedBytes = config.Default().Batch.MaxBufferedBytes
	}
	c := &Connector{
		cfg:           cfg,
		writer:        w,
		log:           slog.New(slog.NewTextHandler(io.Discard, nil)),
		tracker:       NewOffsetTracker(),
		hwm:           make(map[topicPartition]int64),
		assigned:      make(map[string][]int32),
		lagBase:       make(map[topicPartition]int64),
		lagAssigned:   make(chan struct{}, 1),
		errorPolicy:   cfg.Errors.EffectivePolicy(),
		loggedReasons: make(map[string]bool),
		results:       make(chan *pendingBatch, inflightCap(cfg.Batch)),
		wakeCh:        make(chan struct{}, 1),
		dlqWake:       make(chan struct{}, 1),
		dlqDone:       make(chan dlqOutcome, 1),
	}
	c.lanes = newLaneSet(cfg.Batch)
	c.limits = newFlushLimits(cfg.Batch)
	c.fetchSizer = newFetchSizer(cfg.Kafka)
	for _, o := range opts {
		o(c)
	}
	c.metrics = NewMetrics(c.reg)
	c.policy = newFlushPolicy(cfg, &c.stats, c.metrics, c.log)
	c.setLimits()
	return c
}

// Snapshot returns the connector's counters now.
func (c *Connector) Snapshot() Snapshot {
	s := c.stats.snapshot()
	s.Guarantee = c.cfg.Delivery.Guarantee
	return s
}

// Written is Snapshot().Written without building a Snapshot (which copies
// the latency histogram): for callers that poll it often.
func (c *Connector) Written() uint64 { return c.stats.written.Load() }

// Run consumes until ctx is canceled, then stops fetching, flushes what it
// holds, commits, and leaves the group within shutdown_timeout. It returns
// nil after a clean shutdown, and an error when a record cannot be written
// (errors.policy fail) or the Kafka client cannot be built.
func (c *Connector) Run(ctx context.Context) error {
	cl, err := kgo.NewClient(c.kafkaOpts()...)
	if err != nil {
		return fmt.Errorf("connector: kafka client: %w", err)
	}
	c.fetchSizer.attach(cl)
	c.client = cl
	c.log.Info("connector started", "brokers", c.cfg.Kafka.Brokers, "group", c.cfg.Kafka.Group,
		"topics", c.cfg.Kafka.Topics, "lanes", c.lanes.Len())
	lagCtx, stopLag := context.WithCancel(ctx)
	var lagWatch sync.WaitGroup
	lagWatch.Go(func() { c.watchLag(lagCtx, cl) })
	// Flushes and commits run on flushCtx, not ctx: SIGTERM stops fetching
	// and dispatching, but a flush under way goes on (with its retries)
	// until it ends or shutdown_timeout passes.
	flushCtx, cancelFlushes := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelFlushes()
	var dlq sync.WaitGroup
	if c.errorPolicy == config.PolicyDLQ {
		dlq.Go(func() { c.runDeadLetters(flushCtx) })
	}
	runErr := c.loop(ctx, flushCtx, cl)
	stopLag()
	lagWatch.Wait()
	err = c.shutdown(cl, cancelFlushes, runErr)
	cancelFlushes()
	dlq.Wait()
	return err
}

// loop polls and dispatches until ctx ends or a record stops it. Flushes
// and commits it starts run on flushCtx.
func (c *Connector) loop(ctx, flushCtx context.Context, cl *kgo.Client) error {
	for {
		if ctx.Err() != nil {
			return nil
		}
		c.mu.Lock()
		c.applyResults()
		c.dispatch(flushCtx, time.Now())
		c.commitAsync(flushCtx, cl)
		fatal, full, wait, limit := c.fatal, c.lanes.Full(), c.lanes.Wait(time.Now()), c.lanes.PollRecords()
		c.mu.Unlock()
		if fatal != nil {
			return fatal
		}
		if full {
			// Backpressure: the lanes hold enough; wait for a flush to
			// finish rather than fetch more. Not polling also lets a
			// rebalance proceed.
			select {
			case <-ctx.Done():
			case <-c.wakeCh:
			case <-time.After(wait):
			}
			continue
		}
		fetches := c.poll(ctx, cl, wait, limit)
		if fetches.IsClientClosed() {
			return nil
		}
		fetches.EachError(func(topic string, partition int32, err error) {
			if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
				return
			}
			c.log.Warn("fetch error", "topic", topic, "partition", partition, "error", err)
		})
		c.mu.Lock()
		c.add(fetches, time.Now())
		if ctx.Err() == nil {
			c.dispatch(flushCtx, time.Now())
		}
		c.mu.Unlock()
		cl.AllowRebalance()
	}
}

// poll polls at most limit records for at most wait; a finished flush cuts
// it short so its lane can start the next batch at once.
func (c *Connector) poll(ctx context.Context, cl *kgo.Client, wait time.Duration, limit int) kgo.Fetches {
	pollCtx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	c.pollMu.Lock()
	c.pollCancel = cancel
	c.pollMu.Unlock()
	if len(c.results) > 0 {
		cancel()
	}
	fetches := cl.PollRecords(pollCtx, limit)
	c.pollMu.Lock()
	c.pollCancel = nil
	c.pollMu.Unlock()
	return fetches
}

// wake interrupts the poll or the backpressure wait under way.
func (c *Connector) wake() {
	c.pollMu.Lock()
	if c.pollCancel != nil {
		c.pollCancel()
	}
	c.pollMu.Unlock()
	select {
	case c.wakeCh <- struct{}{}:
	default:
	}
}

// add hands polled records to their lanes. Called with c.mu held.
func (c *Connector) add(fetches kgo.Fetches, now time.Time) {
	polled, polledBytes := 0, 0
	fetches.EachPartition(func(p kgo.FetchTopicPartition) {
		if len(p.Records) == 0 {
			return
		}
		c.hwm[topicPartition{p.Topic, p.Partition}] = p.HighWatermark
		polledBytes += c.lanes.Add(p.Topic, p.Partition, p.Records, now)
		for _, rec := range p.Records {
			c.tracker.Track(rec)
		}
		polled += len(p.Records)
		c.stats.consumed.Add(uint64(len(p.Records)))
		c.metrics.RecordsConsumed.Add(float64(len(p.Records)))
	})
	c.lanes.Polled(polled, polledBytes)
}

// pause pauses fetching (the lanes decided it: a write failed).
func (c *Connector) pause(cl *kgo.Client) {
	c.stats.fetchPaused.Store(true)
	c.metrics.FetchPaused.Set(1)
	cl.PauseFetchTopics(cl.GetConsumeTopics()...)
}

// resume resumes fetching (the lanes decided it: no lane holds a failed
// batch any more); why says what made it so, for the log.
func (c *Connector) resume(cl *kgo.Client, why string) {
	c.stats.fetchPaused.Store(false)
	c.metrics.FetchPaused.Set(0)
	cl.ResumeFetchTopics(cl.GetConsumeTopics()...)
	c.log.Info(why + "; fetching resumed")
}
