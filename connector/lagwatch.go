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

// watchLag keeps the lag true when fetches cannot: lag is normally the high
// watermark the fetches report minus the committed position, at no cost.
//
// At every assignment it asks the brokers at once for the end offsets and
// the group's committed offsets of every assigned partition, so the lag is
// right before this member fetched or committed anything (a member that
// just joined, with a backlog waiting, must not read 0). A partition the
// group never committed counts from its log start (start_offset earliest)
// or its end (latest).
//
// A paused partition is not fetched, so during a Redis outage — when
// operators look at lag most — it would freeze at its value when the outage
// began. While paused, every refresh interval it asks for the end offsets
// again and raises the known high watermarks.
func (c *Connector) watchLag(ctx context.Context, cl *kgo.Client) {
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
		case <-c.lagAssigned:
			c.refreshLag(ctx, adm, every, true)
		case <-t.C:
			if c.stats.fetchPaused.Load() {
				c.refreshLag(ctx, adm, every, false)
			}
		}
	}
}

// refreshLag raises the high watermarks of the assigned partitions to their
// end offsets; with positions, it also takes the group's committed offsets
// as the position of partitions this member has not committed yet.
func (c *Connector) refreshLag(ctx context.Context, adm *kadm.Client, timeout time.Duration, positions bool) {
	c.mu.Lock()
	var topics []string
	for topic := range c.assigned {
		topics = append(topics, topic)
	}
	c.mu.Unlock()
	if len(topics) == 0 {
		return
	}
	lctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ends, err := adm.ListEndOffsets(lctx, topics...)
	if err != nil {
		c.log.Debug("end offsets for the lag", "error", err)
		return
	}
	var committed kadm.OffsetResponses
	var starts kadm.ListedOffsets
	if positions {
		if committed, err = adm.FetchOffsets(lctx, c.cfg.Kafka.Group); err != nil {
			c.log.Debug("committed offsets for the lag", "error", err)
			return
		}
		if c.cfg.Kafka.StartOffset != "latest" {
			if starts, err = adm.ListStartOffsets(lctx, topics...); err != nil {
				c.log.Debug("start offsets for the lag", "error", err)
				return
			}
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	ends.Each(func(o kadm.ListedOffset) {
		tp := topicPartition{o.Topic, o.Partition}
		// Only partitions this member still owns, and only ever upwards:
		// a fetch may have seen a newer watermark.
		if !c.isAssigned(tp) || o.Err != nil {
			return
		}
		if old, ok := c.hwm[tp]; !ok || o.Offset > old {
			c.hwm[tp] = o.Offset
		}
		if !positions {
			return
		}
		pos := o.Offset // start_offset latest, nothing committed
		if s, ok := starts.Lookup(o.Topic, o.Partition); ok && s.Err == nil {
			pos = s.Offset
		}
		if cm, ok := committed.Lookup(o.Topic, o.Partition); ok && cm.Err == nil && cm.At >= 0 {
			pos = cm.At
		}
		c.lagBase[tp] = pos
	})
	c.updateLag()
}

// isAssigned reports whether this member owns tp. Called with c.mu held.
func (c *Connector) isAssigned(tp topicPartition) bool {
	for _, p := range c.assigned[tp.topic] {
		if p == tp.partition {
			return true
		}
	}
	return false
}
