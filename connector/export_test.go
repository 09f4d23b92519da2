package connector

import "time"

// WithPausedLagRefresh shortens how often the lag is refreshed while
// fetching is paused, for tests.
func WithPausedLagRefresh(d time.Duration) Option {
	return func(c *Connector) { c.pausedLagRefresh = d }
}
