package connector

import "time"

// WithPausedLagRefresh shortens how often the lag is refreshed while
// fetching is paused, for tests.
func WithPausedLagRefresh(d time.Duration) Option {
	return func(c *Connector) { c.pausedLagRefresh = d }
}

// BufferedBytes returns the bytes of records the connector holds now and
// the most it ever held.
func (c *Connector) BufferedBytes() (now, peak int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, now = c.lanes.Buffered()
	return now, c.lanes.peakBytes
}
