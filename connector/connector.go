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

	"github.com/failsafe-go/failsafe-go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
	"github.com/kafka-redis-connector/kafka-redis-connector/sink"
)

// Writer writes a batch of records to Redis. The connector consumes it; the
// sink implements it.
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

// Connector moves records from a Kafka consumer group to Redis streams.
type Connector struct {
	cfg       config.Config
	writer    Writer
	log       *slog.Logger
	reg       prometheus.Registerer
	extraOpts []kgo.Opt
	metrics   *Metrics
	stats     counters
	policy    *flushPolicy
	pollLimit int
	// errorPolicy is errors.policy resolved: fail, skip or dlq.
	errorPolicy string
	// client is the Kafka client of the current Run; it also produces to
	// the dead-letter topic.
	client *kgo.Client

	// mu guards everything below; the poll loop and the rebalance
	// callbacks both take it.
	mu      sync.Mutex
	batcher *Batcher
	tracker *OffsetTracker
	failed  *pendingBatch // the front batch, after a flush that failed
	retryAt time.Time     // when a failed batch may be tried again
	paused  bool
	fatal   error
	// loggedReasons holds the poison reasons already logged once.
	loggedReasons map[string]bool
	hwm           map[topicPartition]int64
	batchBuf      []*kgo.Record

	committing atomic.Bool // an asynchronous commit is in flight
	recommit   atomic.Bool // an asynchronous commit failed: hand every offset out again
	effSum     atomic.Uint64
}

// New builds a connector for cfg, which must be valid, writing through w.
func New(cfg config.Config, w Writer, opts ...Option) *Connector {
	c := &Connector{
		cfg:     cfg,
		writer:  w,
		log:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		batcher: NewBatcher(cfg.Batch.MaxEvents, cfg.Batch.MaxBytes, cfg.Batch.Timeout),
		tracker: NewOffsetTracker(),
		hwm:     make(map[topicPartition]int64),

		errorPolicy:   cfg.Errors.EffectivePolicy(),
		loggedReasons: make(map[string]bool),
	}
	for _, o := range opts {
		o(c)
	}
	c.metrics = NewMetrics(c.reg)
	c.policy = newFlushPolicy(cfg, &c.stats, c.metrics, c.log)
	// Poll a few batches' worth at a time: enough to fill batches at high
	// load, few enough that a poll is processed well within the rebalance
	// timeout even when Redis is slow.
	c.pollLimit = max(4*cfg.Batch.MaxEvents, 500)
	return c
}

// Snapshot returns the connector's counters now.
func (c *Connector) Snapshot() Snapshot { return c.stats.snapshot(c.cfg.Batch.MaxEvents) }

// Metrics returns the connector's Prometheus metrics.
func (c *Connector) Metrics() *Metrics { return c.metrics }

// Run consumes until ctx is canceled, then stops fetching, flushes what it
// holds, commits, and leaves the group within shutdown_timeout. It returns
// nil after a clean shutdown, and an error when a record cannot be written
// (errors.policy fail) or the Kafka client cannot be built.
func (c *Connector) Run(ctx context.Context) error {
	cl, err := kgo.NewClient(c.kafkaOpts()...)
	if err != nil {
		return fmt.Errorf("connector: kafka client: %w", err)
	}
	c.client = cl
	c.log.Info("connector started", "brokers", c.cfg.Kafka.Brokers, "group", c.cfg.Kafka.Group,
		"topics", c.cfg.Kafka.Topics)
	runErr := c.loop(ctx, cl)
	return c.shutdown(cl, runErr)
}

func (c *Connector) loop(ctx context.Context, cl *kgo.Client) error {
	for {
		if err := ctx.Err(); err != nil {
			return nil
		}
		c.mu.Lock()
		wait := c.pollWait(time.Now())
		fatal := c.fatal
		c.mu.Unlock()
		if fatal != nil {
			return fatal
		}
		pollCtx, cancel := context.WithTimeout(ctx, wait)
		fetches := cl.PollRecords(pollCtx, c.pollLimit)
		cancel()
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
		now := time.Now()
		fetches.EachPartition(func(p kgo.FetchTopicPartition) {
			if len(p.Records) == 0 {
				return
			}
			c.hwm[topicPartition{p.Topic, p.Partition}] = p.HighWatermark
			for _, rec := range p.Records {
				c.batcher.Add(rec, now)
				c.tracker.Track(rec)
			}
			c.stats.consumed.Add(uint64(len(p.Records)))
			c.metrics.RecordsConsumed.Add(float64(len(p.Records)))
		})
		c.flushDue(ctx, cl, time.Now())
		c.commitAsync(ctx, cl)
		c.mu.Unlock()
		cl.AllowRebalance()
	}
}

// pollWait is how long the next poll may block: until the front batch is due
// or a failed batch may be retried.
func (c *Connector) pollWait(now time.Time) time.Duration {
	wait := time.Second
	if c.failed != nil {
		return min(wait, max(c.retryAt.Sub(now), time.Millisecond))
	}
	if d, ok := c.batcher.UntilNext(now); ok {
		wait = min(wait, max(d, time.Millisecond))
	}
	return wait
}

// flushDue flushes front batches while one is due. After a failed flush it
// pauses fetching (backpressure: Kafka keeps the data) until the retry time.
// Called with c.mu held.
func (c *Connector) flushDue(ctx context.Context, cl *kgo.Client, now time.Time) {
	for c.fatal == nil {
		if c.failed != nil && now.Before(c.retryAt) {
			return
		}
		reason, due := c.batcher.Due(now)
		if !due {
			return
		}
		if err := c.flushFront(ctx, reason); err != nil {
			if ctx.Err() != nil {
				return
			}
			delay := max(c.policy.breaker.RemainingDelay(), c.cfg.Retry.InitialBackoff)
			c.retryAt = time.Now().Add(delay)
			c.pause(cl)
			c.log.Warn("flush failed; fetching paused, the batch will be retried",
				"records", len(c.failed.recs), "retry_in", delay.String(), "error", err)
			return
		}
		c.resume(cl)
		now = time.Now()
	}
}

// pendingBatch is a front batch under way: which of its records are written.
type pendingBatch struct {
	recs    []*kgo.Record
	done    []bool
	reason  FlushReason
	started time.Time
}

// flushFront writes the front batch through the flush policy, marks what was
// written, and removes the batch from the batcher once every record is
// accounted for. It returns an error when records remain to be retried.
// Called with c.mu held.
func (c *Connector) flushFront(ctx context.Context, reason FlushReason) error {
	b := c.failed
	if b == nil {
		c.batchBuf = c.batcher.Front(c.batchBuf[:0])
		b = &pendingBatch{recs: c.batchBuf, done: make([]bool, len(c.batchBuf)), reason: reason, started: time.Now()}
	}
	c.metrics.InflightBatches.Set(1)
	defer c.metrics.InflightBatches.Set(0)
	var todo []*kgo.Record
	var todoIdx []int
	var poison []poisonRecord
	_, err := c.policy.exec.WithContext(ctx).GetWithExecution(func(exec failsafe.Execution[sink.Result]) (sink.Result, error) {
		todo, todoIdx, poison = todo[:0], todoIdx[:0], poison[:0]
		for i, rec := range b.recs {
			if !b.done[i] {
				todo = append(todo, rec)
				todoIdx = append(todoIdx, i)
			}
		}
		// The execution's context carries the flush timeout.
		res, err := c.writer.Write(exec.Context(), todo)
		now := time.Now()
		for j, werr := range res.Errs {
			i := todoIdx[j]
			switch {
			case werr == nil:
				b.done[i] = true
				c.tracker.Done(b.recs[i])
				c.stats.latency.Record(now.Sub(b.recs[i].Timestamp))
				c.metrics.EndToEndLatency.Observe(now.Sub(b.recs[i].Timestamp).Seconds())
			case !sink.Retryable(werr) && !errors.Is(werr, context.Canceled):
				// A record Redis can never accept: errors.policy decides.
				// It never counts against the breaker.
				b.done[i] = true
				poison = append(poison, poisonRecord{rec: b.recs[i], stream: res.Streams[j], err: werr})
			}
		}
		if n := res.Written(); n > 0 {
			c.stats.written.Add(uint64(n))
			c.metrics.RecordsWritten.Add(float64(n))
		}
		if terr := c.triage(exec.Context(), poison); terr != nil {
			for _, p := range poison {
				for i, rec := range b.recs {
					if rec == p.rec {
						b.done[i] = false
					}
				}
			}
			return res, terr
		}
		return res, err
	})
	if err != nil {
		c.failed = b
		return err
	}
	c.failed = nil
	c.batcher.Remove(len(b.recs))
	c.stats.batches.Add(1)
	c.stats.batchRecords.Add(uint64(len(b.recs)))
	c.metrics.BatchesFlushed.WithLabelValues(b.reason.String()).Inc()
	c.metrics.BatchSize.Observe(float64(len(b.recs)))
	c.metrics.FlushDuration.Observe(time.Since(b.started).Seconds())
	c.metrics.BatchingEfficiency.Set(c.Snapshot().Efficiency())
	return nil
}

func (c *Connector) pause(cl *kgo.Client) {
	if c.paused {
		return
	}
	c.paused = true
	c.stats.fetchPaused.Store(true)
	c.metrics.FetchPaused.Set(1)
	cl.PauseFetchTopics(cl.GetConsumeTopics()...)
}

func (c *Connector) resume(cl *kgo.Client) {
	if !c.paused {
		return
	}
	c.paused = false
	c.stats.fetchPaused.Store(false)
	c.metrics.FetchPaused.Set(0)
	cl.ResumeFetchTopics(cl.GetConsumeTopics()...)
	c.log.Info("redis writes succeed again; fetching resumed")
}
