package connector

import (
	"context"
	"errors"
	"time"

	"github.com/failsafe-go/failsafe-go"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafka-redis-connector/kafka-redis-connector/sink"
)

// dispatch starts a flush on every lane that has nothing in flight and
// something to write: a failed batch whose retry time came, or what it
// buffered. Called with c.mu held.
func (c *Connector) dispatch(ctx context.Context, now time.Time) {
	if c.fatal != nil || ctx.Err() != nil {
		return
	}
	for _, l := range c.lanes.Next(now) {
		c.launch(ctx, l.batch)
	}
}

// launch writes b, which the lanes marked in flight, on its own goroutine;
// the loop, awaitInflight or awaitInflightCtx receives it from c.results.
func (c *Connector) launch(ctx context.Context, b *pendingBatch) {
	c.metrics.InflightBatches.Set(float64(c.lanes.Inflight()))
	go func() {
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
	for c.lanes.Inflight() > 0 {
		c.apply(<-c.results)
	}
}

// apply reports a finished flush to the tracker and the lane. Called with
// c.mu held.
func (c *Connector) apply(b *pendingBatch) {
	res := flushResult{err: b.err, now: time.Now()}
	if b.err != nil {
		res.retryIn = max(c.policy.breaker.RemainingDelay(), c.cfg.Retry.InitialBackoff)
	}
	o := c.lanes.Finished(b, res)
	c.metrics.InflightBatches.Set(float64(c.lanes.Inflight()))
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
	if o.kind != outcomeCanceled {
		c.adapt(b, o.kind == outcomeRetry, res.now)
	}
	switch o.kind {
	case outcomeCanceled:
		return // stopping: the shutdown flush takes it from here
	case outcomeRetry:
		if c.lanes.Stopping() {
			c.log.Warn("shutdown flush failed; retrying until shutdown_timeout",
				"records", len(b.recs), "retry_in", res.retryIn.String(), "error", b.err)
			return
		}
		if o.pause {
			c.pause(c.client)
		}
		c.log.Warn("flush failed; fetching paused, the batch will be retried",
			"records", len(b.recs), "retry_in", res.retryIn.String(), "error", b.err)
		return
	}
	batches := c.stats.batches.Add(1)
	records := c.stats.batchRecords.Add(uint64(len(b.recs)))
	c.metrics.BatchesFlushed.WithLabelValues(b.reason.String()).Inc()
	c.metrics.BatchSize.Observe(float64(len(b.recs)))
	c.metrics.FlushDuration.Observe(time.Since(b.started).Seconds())
	// From the two counters, not a Snapshot: that copies the latency
	// histogram, too much work for every flush.
	c.metrics.BatchingEfficiency.Set(Snapshot{Batches: batches, BatchRecords: records, MaxEvents: c.limits.Events()}.Efficiency())
	if o.resume {
		c.resume(c.client, "redis writes succeed again")
	}
}

// adapt reports a finished flush (failed or not, ended at now) to the
// flush limits and applies what they decide. Called with c.mu held.
func (c *Connector) adapt(b *pendingBatch, failed bool, now time.Time) {
	o := flushObservation{records: len(b.recs), full: b.reason == FlushSize, fullBytes: b.reason == FlushBytes, waited: c.lanes.TakeWaited(),
		duration: now.Sub(b.started), failed: failed}
	if c.limits.Observe(o) {
		c.setLimits()
	}
}

// setLimits hands the flush limits to the lanes, the metrics and the
// counters behind /stats.
func (c *Connector) setLimits() {
	events, bytes, inflight := c.limits.Events(), c.limits.Bytes(), c.limits.Inflight()
	c.lanes.SetLimits(events, bytes, inflight)
	c.metrics.EffectiveBatchSize.Set(float64(events))
	c.metrics.EffectiveBatchBytes.Set(float64(bytes))
	c.metrics.EffectiveMaxInFlight.Set(float64(inflight))
	c.stats.maxEvents.Store(int64(events))
	c.stats.maxInFlight.Store(int64(inflight))
	c.stats.maxBytes.Store(int64(bytes))
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
	for i := range c.lanes.Len() {
		for {
			if c.fatal != nil {
				return false
			}
			next, ok := c.lanes.Front(i, reason, time.Now())
			if !ok {
				break
			}
			b := next.batch
			if next.retry {
				wait := time.Until(next.retryAt)
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
			c.lanes.Launched(b)
			c.flush(ctx, b)
			c.apply(b)
			if b.err != nil && !persist {
				return false
			}
		}
	}
	return true
}
