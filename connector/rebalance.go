package connector

import (
	"context"
	"slices"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
)

// kafkaOpts builds the consumer-group client options from the configuration.
func (c *Connector) kafkaOpts() []kgo.Opt {
	k := c.cfg.Kafka
	reset := kgo.NewOffset().AtStart()
	if k.StartOffset == "latest" {
		reset = kgo.NewOffset().AtEnd()
	}
	opts := []kgo.Opt{
		kgo.SeedBrokers(k.Brokers...),
		kgo.ClientID(k.ClientID),
		kgo.ConsumerGroup(k.Group),
		kgo.ConsumeTopics(k.Topics...),
		kgo.ConsumeResetOffset(reset),
		kgo.SessionTimeout(k.SessionTimeout),
		kgo.RebalanceTimeout(k.RebalanceTimeout),
		// Offsets are committed only after Redis acknowledged the
		// records, never on a timer.
		kgo.DisableAutoCommit(),
		// Rebalance callbacks run only between polls, so a commit never
		// covers a partition this member no longer owns.
		kgo.BlockRebalanceOnPoll(),
		kgo.OnPartitionsAssigned(c.onAssigned),
		kgo.OnPartitionsRevoked(c.onRevoked),
		kgo.OnPartitionsLost(c.onLost),
	}
	// What one fetch holds decoded stays within kafka.fetch_buffer_bytes.
	opts = append(opts, c.fetchSizer.opts()...)
	if c.errorPolicy == config.PolicyDLQ {
		opts = append(opts, dlqProducerOpts(k.FetchMaxBytes)...)
	}
	if k.TopicsRegex {
		opts = append(opts, kgo.ConsumeRegex())
	}
	opts = append(opts, MembershipOpts(k)...)
	return append(opts, c.extraOpts...)
}

func (c *Connector) onAssigned(_ context.Context, _ *kgo.Client, assigned map[string][]int32) {
	c.mu.Lock()
	for topic, ps := range assigned {
		for _, p := range ps {
			if !c.isAssigned(topicPartition{topic, p}) {
				c.assigned[topic] = append(c.assigned[topic], p)
			}
		}
	}
	c.mu.Unlock()
	c.stats.inGroup.Store(true)
	c.log.Info("partitions assigned", "partitions", assigned)
	select {
	case c.lagAssigned <- struct{}{}:
	default:
	}
}

// onRevoked waits for the flushes in flight, flushes what is held and
// commits before the partitions move to another member. When Redis cannot
// take the records now (the breaker is open, or the retries run out), the
// revoked partitions' records are abandoned uncommitted: their new owner
// reads them again from Kafka.
func (c *Connector) onRevoked(ctx context.Context, cl *kgo.Client, revoked map[string][]int32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.log.Info("partitions revoked", "partitions", revoked)
	c.awaitInflight()
	// While stopping, the shutdown already flushed what it could within
	// shutdown_timeout; leaving the group must not start over.
	records, _ := c.lanes.Buffered()
	flushed := records == 0 || !c.lanes.Stopping() && c.flushAllSync(ctx, FlushRebalance, false)
	// Records on their way to the dead-letter topic get a flush timeout
	// to arrive before the commit; past it they are left to the next owner.
	dctx, cancel := context.WithTimeout(ctx, c.cfg.FlushTimeout)
	flushed = c.awaitDeadLetters(dctx) && flushed
	cancel()
	_ = c.commitSync(ctx, cl)
	c.forget(revoked)
	if !flushed {
		c.log.Warn("revoked partitions' unflushed records abandoned uncommitted; their next owner reads them again")
	}
}

// onLost drops the lost partitions' state without committing: another member
// may already own them.
func (c *Connector) onLost(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
	if len(lost) == 0 {
		return // a failed rejoin with nothing assigned
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.log.Warn("partitions lost; their buffered records are abandoned uncommitted and will be read again by their new owner", "partitions", lost)
	c.awaitInflight()
	c.forget(lost)
}

// forget drops every trace of the given partitions. Called with c.mu held
// and nothing in flight.
func (c *Connector) forget(parts map[string][]int32) {
	resume := c.lanes.Forget(parts)
	c.tracker.Forget(parts)
	c.stats.dropLags(parts)
	for topic, ps := range parts {
		for _, p := range ps {
			delete(c.hwm, topicPartition{topic, p})
			delete(c.lagBase, topicPartition{topic, p})
			c.assigned[topic] = slices.DeleteFunc(c.assigned[topic], func(q int32) bool { return q == p })
			c.metrics.ConsumerLag.DeleteLabelValues(topic, itoa(p))
		}
	}
	c.stats.uncommitted.Store(int64(c.tracker.Pending()))
	if resume {
		c.resume(c.client, "the failed batches belonged to partitions no longer assigned")
	}
}
