package connector

import (
	"context"
	"errors"
	"hash/fnv"
	"time"

	"github.com/failsafe-go/failsafe-go"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafka-redis-connector/kafka-redis-connector/sink"
)

// lane is one ordered path to Redis: the partitions mapped to it share its
// Batcher and at most one flush in flight.
type lane struct {
	id       int
	batcher  *Batcher
	inflight *pendingBatch // being written by a flush goroutine
	failed   *pendingBatch // failed after its retries; goes again before anything newer
	retryAt  time.Time
}

type recordState uint8

const (
	statePending      recordState = iota
	stateWritten                  // Redis acknowledged it
	stateDeadLettered             // skipped or in the dead-letter topic
	statePoisoned                 // cannot be written, errors.policy fail: never committed
	stateQueued                   // cannot be written, queued for the dead-letter topic
)

// pendingBatch is a batch under way and what became of each record.
type pendingBatch struct {
	lane     *lane
	recs     []*kgo.Record
	state    []recordState // written by the flush, read by apply
	applied  []bool        // reported to the tracker
	reason   FlushReason
	started  time.Time
	err      error          // the flush's outcome: nil when no record is left pending
	fatal    error          // a record poisoned under errors.policy fail
	rejected []poisonRecord // for the dead-letter topic; apply hands them over
	bytes    int            // RecordSize of recs, summed
}

func (c *Connector) laneOf(topic string, partition int32) *lane {
	if len(c.lanes) == 1 {
		return c.lanes[0]
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(topic))
	return c.lanes[(h.Sum32()+uint32(partition))%uint32(len(c.lanes))]
}

// take removes the front batch of l's Batcher.
func (c *Connector) take(l *lane, reason FlushReason) *pendingBatch {
	recs := l.batcher.Front(nil)
	l.batcher.Remove(len(recs))
	return &pendingBatch{lane: l, recs: recs, state: make([]recordState, len(recs)),
		applied: make([]bool, len(recs)), reason: reason, started: time.Now(), bytes: recordsSize(recs)}
}

// dispatch starts a flush on every lane that has nothing in flight and
// something to write: a failed batch whose retry time came, or what it
// buffered. Called with c.mu held.
func (c *Connector) dispatch(ctx context.Context, now time.Time) {
	if c.fatal != nil || ctx.Err() != nil {
		return
	}
	for _, l := range c.lanes {
		if l.inflight != nil {
			continue
		}
		if l.failed != nil {
			if !now.Before(l.retryAt) {
				c.launch(ctx, l, l.failed)
			}
			continue
		}
		if l.batcher.Len() == 0 {
			continue
		}
		reason, due := l.batcher.Due(now)
		if !due {
			reason = FlushIdle
		}
		c.launch(ctx, l, c.take(l, reason))
	}
}

func (c *Connector) launch(ctx context.Context, l *lane, b *pendingBatch) {
	l.inflight = b
	c.inflight++
	c.metrics.InflightBatches.Set(float64(c.inflight))
	c.flushes.Add(1)
	go func() {
		defer c.flushes.Done()
		c.flush(ctx, b)
		c.results <- b
		c.wake()
	}()
}

// applyResults applies every finished flush without waiting. Called with
// c.mu held.
func (c *Connector) applyResults() {
	for {
		select {
		case b := <-c.results:
			c.apply(b)
		case o := <-c.dlqDone:
			c.applyDeadLetters(o)
		default:
			return
		}
	}
}

// awaitInflight waits for every flush in flight and applies it. Called with
// c.mu held; flush goroutines never take c.mu.
func (c *Connector) awaitInflight() {
	for c.inflight > 0 {
		c.apply(<-c.results)
	}
}

// apply reports a finished flush to the tracker and the lane. Called with
// c.mu held.
func (c *Connector) apply(b *pendingBatch) {
	l := b.lane
	if l.inflight == b {
		l.inflight = nil
		c.inflight--
		c.metrics.InflightBatches.Set(float64(c.inflight))
	}
	for i, st := range b.state {
		if (st == stateWritten || st == stateDeadLettered) && !b.applied[i] {
			c.tracker.Done(b.recs[i])
			b.applied[i] = true
		}
	}
	if b.fatal != nil && c.fatal == nil {
		c.fatal = b.fatal
	}
	if len(b.rejected) > 0 {
		c.queueDeadLetters(b.rejected)
		b.rejected = nil
	}
	if b.err != nil {
		l.failed = b
		if errors.Is(b.err, context.Canceled) {
			return // stopping: the shutdown flush takes it from here
		}
		delay := max(c.policy.breaker.RemainingDelay(), c.cfg.Retry.InitialBackoff)
		l.retryAt = time.Now().Add(delay)
		if c.stopping {
			c.log.Warn("shutdown flush failed; retrying until shutdown_timeout",
				"records", len(b.recs), "retry_in", delay.String(), "error", b.err)
			return
		}
		c.pause(c.client)
		c.log.Warn("flush failed; fetching paused, the batch will be retried",
			"records", len(b.recs), "retry_in", delay.String(), "error", b.err)
		return
	}
	l.failed = nil
	batches := c.stats.batches.Add(1)
	records := c.stats.batchRecords.Add(uint64(len(b.recs)))
	c.metrics.BatchesFlushed.WithLabelValues(b.reason.String()).Inc()
	c.metrics.BatchSize.Observe(float64(len(b.recs)))
	c.metrics.FlushDuration.Observe(time.Since(b.started).Seconds())
	// From the two counters, not a Snapshot: that copies the latency
	// histogram, too much work for every flush.
	c.metrics.BatchingEfficiency.Set(Snapshot{Batches: batches, BatchRecords: records, MaxEvents: c.cfg.Batch.MaxEvents}.Efficiency())
	c.resume(c.client, "redis writes succeed again")
}

// flush writes the batch's pending records through the flush policy. It
// runs without c.mu: it touches only b, atomics and metrics.
func (c *Connector) flush(ctx context.Context, b *pendingBatch) {
	var todo []*kgo.Record
	var todoIdx []int
	var poison []poisonRecord
	_, b.err = c.policy.exec.WithContext(ctx).GetWithExecution(func(exec failsafe.Execution[sink.Result]) (sink.Result, error) {
		todo, todoIdx, poison = todo[:0], todoIdx[:0], poison[:0]
		for i, rec := range b.recs {
			if b.state[i] == statePending {
				todo = append(todo, rec)
				todoIdx = append(todoIdx, i)
			}
		}
		// failsafe-go's timeout cancels the execution's context but gives it
		// no deadline, and go-redis sets socket deadlines only from one: the
		// attempt's own deadline makes flush_timeout bound every read.
		actx, cancel := context.WithTimeout(exec.Context(), c.cfg.FlushTimeout)
		res, err := c.writer.Write(actx, todo)
		cancel()
		now := time.Now()
		for j, werr := range res.Errs {
			i := todoIdx[j]
			switch {
			case werr == nil:
				b.state[i] = stateWritten
				lat := now.Sub(b.recs[i].Timestamp)
				c.stats.latency.Record(lat)
				c.metrics.EndToEndLatency.Observe(lat.Seconds())
			case !sink.Retryable(werr) && !errors.Is(werr, context.Canceled):
				// A record Redis can never accept: errors.policy decides,
				// and it never counts against the breaker.
				poison = append(poison, poisonRecord{index: i, rec: b.recs[i], stream: res.Streams[j], err: werr})
			}
		}
		if n := res.Written(); n > 0 {
			c.stats.written.Add(uint64(n))
			c.metrics.RecordsWritten.Add(float64(n))
		}
		if res.Tombstones > 0 {
			c.metrics.RecordsTombstones.WithLabelValues(c.cfg.Stream.Tombstones).Add(float64(res.Tombstones))
		}
		if n := res.Deduplicated; n > 0 {
			c.stats.deduplicated.Add(uint64(n))
			c.metrics.RecordsDeduplicated.Add(float64(n))
		}
		if errors.Is(err, sink.ErrReplicaShortfall) {
			c.metrics.ReplicaAckShortfalls.Inc()
		}
		c.triage(b, poison)
		return res, err
	})
}

// flushAllSync flushes everything the lanes hold, in order, waiting for
// each batch. With persist false (revoke) it stops at the first batch that
// cannot be written, or at once while the breaker is open; with persist true
// (shutdown) it waits out the breaker and the retry backoff and tries again
// until ctx ends, starting no attempt after that. It reports whether the
// lanes are empty. Called with c.mu held and nothing in flight.
func (c *Connector) flushAllSync(ctx context.Context, reason FlushReason, persist bool) bool {
	for _, l := range c.lanes {
		for {
			if c.fatal != nil {
				return false
			}
			var b *pendingBatch
			switch {
			case l.failed != nil:
				b = l.failed
			case l.batcher.Len() > 0:
				b = c.take(l, reason)
			}
			if b == nil {
				break
			}
			if b == l.failed {
				wait := time.Until(l.retryAt)
				if c.policy.breaker.IsOpen() {
					if !persist {
						return false
					}
					wait = max(wait, c.policy.breaker.RemainingDelay())
				}
				if wait > 0 && !sleepCtx(ctx, wait) {
					return false
				}
			}
			if ctx.Err() != nil {
				return false
			}
			l.inflight = b
			c.inflight++
			c.flush(ctx, b)
			c.apply(b)
			if b.err != nil && !persist {
				return false
			}
		}
	}
	return true
}

func recordsSize(recs []*kgo.Record) int {
	n := 0
	for _, rec := range recs {
		n += RecordSize(rec)
	}
	return n
}

// bufferedBytes returns the bytes of the records the connector holds:
// batching, in flight and failed. Called with c.mu held.
func (c *Connector) bufferedBytes() int {
	n := 0
	for _, l := range c.lanes {
		n += l.batcher.Bytes()
		if l.inflight != nil {
			n += l.inflight.bytes
		}
		if l.failed != nil && l.failed != l.inflight {
			n += l.failed.bytes
		}
	}
	return n
}

// buffered returns how many records the lanes hold, failed batches included.
func (c *Connector) buffered() int {
	n := 0
	for _, l := range c.lanes {
		n += l.batcher.Len()
		if l.failed != nil {
			n += len(l.failed.recs)
		}
	}
	return n
}
