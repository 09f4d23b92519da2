package connector

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// dlqRecordOverhead is room, on top of the largest fetched record, for the
// headers a dead-lettered record gains and the batch framing.
const dlqRecordOverhead = 64 << 10

// dlqProducerOpts sizes the producer for the largest record the source can
// deliver: franz-go's default batch limit (1,000,012 bytes) would refuse,
// client-side, a larger record that both Kafka and the dead-letter topic may
// take. A record larger still (Kafka hands out one record past
// kafka.fetch_max_bytes) is refused with MESSAGE_TOO_LARGE and stops the
// connector, as does the broker refusing it (the topic's max.message.bytes).
func dlqProducerOpts(fetchMaxBytes int32) []kgo.Opt {
	batch := min(int64(fetchMaxBytes)+dlqRecordOverhead, 1<<30)
	write := min(max(100<<20, batch+1<<20), 1<<30)
	return []kgo.Opt{kgo.ProducerBatchMaxBytes(int32(batch)), kgo.BrokerMaxWriteBytes(int32(write))}
}

// dlqOutcome is what the dead-letter producer finished: done went to the
// topic; ended counts every queued record it is finished with (done or
// not); fatal is a record the topic can never take.
type dlqOutcome struct {
	done  []poisonRecord
	ended int
	fatal error
}

// queueDeadLetters hands rejected records to the dead-letter producer.
// Called with c.mu held.
func (c *Connector) queueDeadLetters(recs []poisonRecord) {
	c.dlqPending += len(recs)
	c.dlqMu.Lock()
	c.dlqQueue = append(c.dlqQueue, recs...)
	c.dlqMu.Unlock()
	select {
	case c.dlqWake <- struct{}{}:
	default:
	}
}

// applyDeadLetters marks what the dead-letter producer finished. Called
// with c.mu held.
func (c *Connector) applyDeadLetters(o dlqOutcome) {
	for _, p := range o.done {
		c.tracker.Done(p.rec)
	}
	c.dlqPending -= o.ended
	if o.fatal != nil && c.fatal == nil {
		c.fatal = o.fatal
	}
}

// awaitDeadLetters waits until the dead-letter producer finished every
// queued record, or ctx ends. Called with c.mu held.
func (c *Connector) awaitDeadLetters(ctx context.Context) bool {
	for c.dlqPending > 0 {
		select {
		case o := <-c.dlqDone:
			c.applyDeadLetters(o)
		case <-ctx.Done():
			return false
		}
	}
	return true
}

// runDeadLetters produces queued records to the dead-letter topic until ctx
// ends. It never takes c.mu: outcomes go to c.dlqDone.
func (c *Connector) runDeadLetters(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.dlqWake:
		}
		for {
			c.dlqMu.Lock()
			recs := c.dlqQueue
			c.dlqQueue = nil
			c.dlqMu.Unlock()
			if len(recs) == 0 {
				break
			}
			o := c.produceDeadLetters(ctx, recs)
			select {
			case c.dlqDone <- o:
				c.wake()
			case <-ctx.Done():
				return
			}
		}
	}
}

// produceDeadLetters produces recs to the dead-letter topic, retrying what
// failed with the retry backoff for as long as it takes (each failure is
// counted, and /readyz says so), until all are in, one can never be taken
// (a non-retriable error: the outcome's fatal names it), or ctx ends.
func (c *Connector) produceDeadLetters(ctx context.Context, recs []poisonRecord) dlqOutcome {
	out := dlqOutcome{ended: len(recs)}
	backoff := c.cfg.Retry.InitialBackoff
	todo := recs
	for attempt := 1; ; attempt++ {
		now := time.Now().UTC().Format(time.RFC3339Nano)
		batch := make([]*kgo.Record, len(todo))
		index := make(map[*kgo.Record]int, len(todo))
		for i, p := range todo {
			batch[i] = c.deadLetterRecord(p, now)
			index[batch[i]] = i
		}
		var failed []poisonRecord
		var lastErr error
		for _, r := range c.client.ProduceSync(ctx, batch...) {
			p := todo[index[r.Record]]
			if r.Err == nil {
				c.deadLettered(p, "sent to dead-letter topic "+c.cfg.Errors.DLQTopic)
				out.done = append(out.done, p)
				continue
			}
			if ctx.Err() == nil && !dlqRetriable(r.Err) && out.fatal == nil {
				out.fatal = fmt.Errorf("%w: %s/%d@%d to %s: %w", ErrDeadLetterRejected,
					p.rec.Topic, p.rec.Partition, p.rec.Offset, c.cfg.Errors.DLQTopic, r.Err)
			}
			failed, lastErr = append(failed, p), r.Err
		}
		if len(failed) == 0 {
			if c.stats.dlqFailing.Swap(false) {
				c.log.Info("dead-letter produce succeeds again", "topic", c.cfg.Errors.DLQTopic)
			}
			return out
		}
		if ctx.Err() != nil {
			return out // left uncommitted
		}
		c.stats.dlqErrors.Add(uint64(len(failed)))
		c.metrics.DLQProduceErrors.Add(float64(len(failed)))
		if out.fatal != nil {
			c.log.Error("the dead-letter topic refuses a record for good; stopping", "error", out.fatal)
			return out
		}
		c.stats.dlqFailing.Store(true)
		if attempt&(attempt-1) == 0 { // 1, 2, 4, 8, ...: enough to see it goes on
			c.log.Warn("dead-letter produce failed; retrying (the records' partitions are not committed past them meanwhile)",
				"topic", c.cfg.Errors.DLQTopic, "records", len(failed), "attempt", attempt,
				"retry_in", backoff.String(), "error", lastErr)
		}
		if !sleepCtx(ctx, backoff) {
			return out
		}
		backoff = min(2*backoff, c.cfg.Retry.MaxBackoff)
		todo = failed
	}
}

// dlqRetriable tells a passing produce failure (network, leader moves, a
// topic not there yet) from a record the dead-letter topic refuses for good
// (MESSAGE_TOO_LARGE, not authorized, an invalid topic).
func dlqRetriable(err error) bool {
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return ke.Retriable
	}
	return true
}
