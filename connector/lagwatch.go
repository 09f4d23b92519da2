package connector

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// defaultPausedLagRefresh is how often the lag gauges ask the brokers for
// end offsets while fetching is paused.
const defaultPausedLagRefresh = 5 * time.Second

// watchPausedLag keeps the lag true while fetching is paused. Lag is
// normally the high watermark the fetches report minus the committed
// position, at no cost; but a paused partition is not fetched, so during a
// Redis outage — when operators look at lag most — it would freeze at its
// value when the outage began. While paused, every refresh interval this
// asks the brokers for the end offsets of the assigned partitions (one
// ListOffsets round trip) and raises the known high watermarks. Running
// fetches need none of it.
func (c *Connector) watchPausedLag(ctx context.Context, cl *kgo.Client) {
	every := c.pausedLagRefresh
	if every <= 0 {
		every = defaultPausedLagRefresh
	}
	t := time.NewTicker(every)
	defer t.Stop()
	adm := kadm.NewClient(cl)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !c.stats.fetchPaused.Load() {
			continue
		}
		c.mu.Lock()
		seen := make(map[string]bool)
		var topics []string
		for tp := range c.hwm {
			if !seen[tp.topic] {
				seen[tp.topic] = true
				topics = append(topics, tp.topic)
			}
		}
		c.mu.Unlock()
		if len(topics) == 0 {
			continue
		}
		lctx, cancel := context.WithTimeout(ctx, every)
		ends, err := adm.ListEndOffsets(lctx, topics...)
		cancel()
		if err != nil {
			c.log.Debug("end offsets for the lag while paused", "error", err)
			continue
		}
		c.mu.Lock()
		ends.Each(func(o kadm.ListedOffset) {
			tp := topicPartition{o.Topic, o.Partition}
			// Only partitions this member still owns (in c.hwm), and only
			// ever upwards: a fetch may have seen a newer watermark.
			if old, ok := c.hwm[tp]; ok && o.Err == nil && o.Offset > old {
				c.hwm[tp] = o.Offset
			}
		})
		c.updateLag()
		c.mu.Unlock()
	}
}
