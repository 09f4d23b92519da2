package connector

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func itoa(p int32) string { return strconv.FormatInt(int64(p), 10) }

// offsetCommitter is the part of *kgo.Client that commits offsets. Like
// kgo, a synchronous commit waits for the asynchronous one in flight.
type offsetCommitter interface {
	CommitOffsets(ctx context.Context, offsets map[string]map[int32]kgo.EpochOffset,
		onDone func(*kgo.Client, *kmsg.OffsetCommitRequest, *kmsg.OffsetCommitResponse, error))
	CommitOffsetsSync(ctx context.Context, offsets map[string]map[int32]kgo.EpochOffset,
		onDone func(*kgo.Client, *kmsg.OffsetCommitRequest, *kmsg.OffsetCommitResponse, error))
}

var _ offsetCommitter = (*kgo.Client)(nil)

// commitAsync commits, without waiting, every offset that became committable,
// unless an earlier asynchronous commit is still in flight (the next call
// picks the offsets up). Called with c.mu held.
func (c *Connector) commitAsync(ctx context.Context, cl offsetCommitter) {
	if c.asyncInFlight() {
		c.updateLag()
		return
	}
	if c.recommit.Swap(false) {
		c.tracker.ResetReported()
	}
	c.updateLag()
	offsets := c.tracker.Committable()
	if offsets == nil {
		return
	}
	done := make(chan struct{})
	c.asyncDone, c.asyncOffsets, c.asyncOK = done, offsets, false
	cl.CommitOffsets(ctx, offsets, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		// Runs on a client goroutine: it must not take c.mu (a sync
		// commit holding c.mu waits for this callback).
		defer close(done)
		if err = commitError(resp, err); err != nil {
			c.stats.commitErrors.Add(1)
			c.metrics.CommitErrors.Inc()
			c.recommit.Store(true)
			if !errors.Is(err, context.Canceled) {
				c.log.Warn("offset commit failed; will commit again", "error", err)
			}
			return
		}
		c.asyncOK = true // read only after done is closed
		c.stats.commits.Add(1)
		c.metrics.Commits.Inc()
	})
}

// asyncFinished takes note of the asynchronous commit that answered. Called
// with c.mu held, after c.asyncDone was closed.
func (c *Connector) asyncFinished() {
	if c.asyncOK {
		c.tracker.Acked(c.asyncOffsets)
	}
	c.asyncDone, c.asyncOffsets = nil, nil
}

// asyncInFlight reports whether an asynchronous commit has not answered yet.
// Called with c.mu held.
func (c *Connector) asyncInFlight() bool {
	if c.asyncDone == nil {
		return false
	}
	select {
	case <-c.asyncDone:
		c.asyncFinished()
		return false
	default:
		return true
	}
}

// commitSync commits every committable offset and waits for the answer. Used
// when partitions are revoked and at shutdown. It first waits for the
// asynchronous commit in flight: when that one failed, its offsets are
// committed here again, not forgotten. Called with c.mu held.
func (c *Connector) commitSync(ctx context.Context, cl offsetCommitter) error {
	if c.asyncDone != nil {
		select {
		case <-c.asyncDone:
			c.asyncFinished()
		case <-ctx.Done():
			return fmt.Errorf("connector: commit: waiting for the commit in flight: %w", ctx.Err())
		}
	}
	if c.recommit.Swap(false) {
		c.tracker.ResetReported()
	}
	offsets := c.tracker.Committable()
	if offsets == nil {
		return nil
	}
	var cerr error
	cl.CommitOffsetsSync(ctx, offsets, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		cerr = commitError(resp, err)
	})
	if cerr != nil {
		c.tracker.Unreport(offsets)
		c.stats.commitErrors.Add(1)
		c.metrics.CommitErrors.Inc()
		c.log.Warn("offset commit failed", "error", cerr)
		return cerr
	}
	c.tracker.Acked(offsets)
	c.stats.commits.Add(1)
	c.metrics.Commits.Inc()
	c.updateLag()
	return nil
}

func commitError(resp *kmsg.OffsetCommitResponse, err error) error {
	if err != nil {
		return fmt.Errorf("connector: commit: %w", err)
	}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if perr := kerr.ErrorForCode(p.ErrorCode); perr != nil {
				return fmt.Errorf("connector: commit %s/%d: %w", t.Topic, p.Partition, perr)
			}
		}
	}
	return nil
}

// updateLag refreshes the lag gauges: high watermark minus the offset this
// member has made committable, or, before it made any, the position the
// partition had at assignment. Called with c.mu held.
func (c *Connector) updateLag() {
	for tp, hwm := range c.hwm {
		next := c.tracker.CommittedOffset(tp.topic, tp.partition)
		if next < 0 {
			base, ok := c.lagBase[tp]
			if !ok {
				continue
			}
			next = base
		}
		lag := max(hwm-next, 0)
		c.stats.setLag(tp.topic, tp.partition, lag)
		c.metrics.ConsumerLag.WithLabelValues(tp.topic, itoa(tp.partition)).Set(float64(lag))
	}
	c.stats.uncommitted.Store(int64(c.tracker.Pending()))
}
