package connector

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// ShutdownError is a shutdown that did not end with every polled record
// committed. Left says exactly what Kafka has no commit for, per partition;
// Kafka delivers it again. Cause is why: a record errors.policy fail
// stopped at, the deadline, a forced stop, or a failed commit.
type ShutdownError struct {
	Cause error
	Left  []UncommittedRange
}

func (e *ShutdownError) Error() string {
	var b strings.Builder
	if e.Cause != nil {
		b.WriteString(e.Cause.Error())
	} else {
		b.WriteString(ErrShutdownIncomplete.Error())
	}
	if len(e.Left) > 0 {
		b.WriteString("; left uncommitted: ")
		b.WriteString(e.leftString())
	}
	return b.String()
}

// Unwrap makes errors.Is see the cause, and ErrShutdownIncomplete when
// something was left.
func (e *ShutdownError) Unwrap() []error {
	errs := []error{e.Cause}
	if len(e.Left) > 0 {
		errs = append(errs, ErrShutdownIncomplete)
	}
	return errs
}

// shutdown stops fetching, flushes what is held, commits, and leaves the
// group, all within shutdown_timeout (or until forceStop closes). Flushes
// that fail are retried with the retry policy, waiting out an open breaker,
// until the deadline; no write attempt starts past it. After a fatal record
// error it flushes nothing more: it commits what is done and stops.
// cancelFlushes ends the flushes still in flight when the bound passes.
func (c *Connector) shutdown(cl *kgo.Client, cancelFlushes context.CancelFunc, runErr error) error {
	timed, cancelTimed := context.WithTimeoutCause(context.Background(), c.cfg.ShutdownTimeout,
		fmt.Errorf("connector: shutdown_timeout (%s) passed", c.cfg.ShutdownTimeout))
	defer cancelTimed()
	ctx, cancel := context.WithCancelCause(timed)
	defer cancel(nil)
	if c.forceStop != nil {
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			select {
			case <-c.forceStop:
				c.log.Warn("forced stop: abandoning the shutdown flush and commit")
				cancel(ErrForcedStop)
			case <-stop:
			}
		}()
	}
	// Flushing may take three quarters of the bound; the rest is kept for
	// the commit and leaving the group.
	flushCtx, cancelFlushPhase := context.WithTimeoutCause(ctx, c.cfg.ShutdownTimeout*3/4,
		fmt.Errorf("connector: shutdown_timeout (%s) passed while flushing", c.cfg.ShutdownTimeout))
	defer cancelFlushPhase()
	defer context.AfterFunc(flushCtx, cancelFlushes)()
	cl.PauseFetchTopics(cl.GetConsumeTopics()...)

	c.mu.Lock()
	c.lanes.Stop()
	drained := c.awaitInflightCtx(flushCtx)
	if drained && runErr == nil && c.fatal == nil {
		c.flushAllSync(flushCtx, FlushShutdown, true)
	}
	c.awaitDeadLetters(flushCtx)
	commitErr := c.commitSync(ctx, cl)
	left := c.tracker.Uncommitted()
	fatal := c.fatal
	c.mu.Unlock()

	// Leaving the group runs the revoke callback, which flushes nothing
	// more while stopping and finds nothing new to commit.
	closed := make(chan struct{})
	go func() {
		cl.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-ctx.Done():
		c.log.Warn("leaving the group timed out")
	}
	c.stats.inGroup.Store(false)
	s := c.Snapshot()
	var pending int64
	for _, r := range left {
		pending += r.Count
	}
	c.log.Info("connector stopped", "consumed", s.Consumed, "written", s.Written, "uncommitted", pending)

	cause := firstErr(runErr, fatal, commitErr)
	if cause == nil && flushCtx.Err() != nil {
		cause = context.Cause(flushCtx)
	}
	if cause == nil && len(left) == 0 {
		return nil
	}
	err := &ShutdownError{Cause: cause, Left: left}
	if len(left) > 0 {
		c.log.Error("records left uncommitted; Kafka delivers them again", "left", err.leftString())
	}
	return err
}

// firstErr returns the first non-nil error.
func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func (e *ShutdownError) leftString() string {
	parts := make([]string, len(e.Left))
	for i, r := range e.Left {
		parts[i] = r.String()
	}
	return strings.Join(parts, ", ")
}

// awaitInflightCtx is awaitInflight bounded by ctx: past it, a write that
// does not end is abandoned (its records stay uncommitted). Called with
// c.mu held.
func (c *Connector) awaitInflightCtx(ctx context.Context) bool {
	for c.lanes.Inflight() > 0 {
		select {
		case b := <-c.results:
			c.apply(b)
		case <-ctx.Done():
			return false
		}
	}
	return true
}

// sleepCtx waits d or until ctx ends; it reports whether d passed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
