package connector

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kgo"
)

// shutdown stops fetching, flushes what is held, commits, and leaves the
// group, all within shutdown_timeout. After a fatal record error it flushes
// nothing more: it commits what is done and stops.
func (c *Connector) shutdown(cl *kgo.Client, runErr error) error {
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.ShutdownTimeout)
	defer cancel()
	cl.PauseFetchTopics(cl.GetConsumeTopics()...)

	c.mu.Lock()
	c.awaitInflight()
	left := 0
	if runErr == nil && !c.flushAllSync(ctx, FlushShutdown) {
		left = c.buffered()
	}
	commitErr := c.commitSync(ctx, cl)
	c.mu.Unlock()

	// Leaving the group runs the revoke callback, which finds nothing left
	// to flush and nothing new to commit.
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
	c.log.Info("connector stopped", "consumed", s.Consumed, "written", s.Written, "unflushed", left)
	switch {
	case runErr != nil:
		return runErr
	case left > 0:
		return errors.Join(ErrShutdownIncomplete, commitErr)
	case commitErr != nil:
		return commitErr
	}
	return nil
}
