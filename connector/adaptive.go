package connector

import (
	"time"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
)

// The limits the connector adapts when batch.max_events or
// batch.max_in_flight is 0 (the default).
const (
	// AdaptiveMinEvents is the smallest batch size it shrinks to: the old
	// fixed default.
	AdaptiveMinEvents = 50
	// AdaptiveStartEvents is the batch size it starts with.
	AdaptiveStartEvents = 100
	// AdaptiveMaxEvents is the largest batch size it grows to.
	AdaptiveMaxEvents = 2000
	// AdaptiveMaxInFlight is the most flushes in flight it allows; it
	// starts with one. The partitions are spread over this many lanes.
	AdaptiveMaxInFlight = 4
	// AdaptiveFlushTarget is the round trip a flush may take: a full
	// batch that came back within it lets the limits grow, a flush slower
	// than it makes them shrink.
	AdaptiveFlushTarget = 50 * time.Millisecond
)

// eventsCap is the most records a batch may ever hold under b: max_events,
// or AdaptiveMaxEvents when it adapts.
func eventsCap(b config.Batch) int {
	if b.MaxEvents > 0 {
		return b.MaxEvents
	}
	return AdaptiveMaxEvents
}

// inflightCap is the most flushes ever in flight under b (and the number of
// lanes): max_in_flight, or AdaptiveMaxInFlight when it adapts.
func inflightCap(b config.Batch) int {
	if b.MaxInFlight > 0 {
		return b.MaxInFlight
	}
	return AdaptiveMaxInFlight
}

// flushLimits decides the batch size and the flushes in flight, AIMD-style
// (as Vector's adaptive concurrency and Prometheus remote write's shard
// tuning do): a full batch that came back within AdaptiveFlushTarget
// doubles the batch size, a flush that waited for the in-flight limit and
// came back within half of it adds one flush in flight; a failed flush
// halves both, and a flush slower than the target takes a quarter off the
// batch size and one flush in flight away. A limit set in the configuration
// never moves. It is a plain synchronous type: the caller reports every
// finished flush.
type flushLimits struct {
	events, inflight       int
	minEvents, maxEvents   int
	maxInflight            int
	fixedEvents, fixedMany bool
	target                 time.Duration
}

// newFlushLimits returns the limits for b.
func newFlushLimits(b config.Batch) *flushLimits {
	l := &flushLimits{
		events: AdaptiveStartEvents, inflight: 1,
		minEvents: AdaptiveMinEvents, maxEvents: AdaptiveMaxEvents, maxInflight: AdaptiveMaxInFlight,
		target: AdaptiveFlushTarget,
	}
	if b.MaxEvents > 0 {
		l.events, l.minEvents, l.maxEvents, l.fixedEvents = b.MaxEvents, b.MaxEvents, b.MaxEvents, true
	}
	if b.MaxInFlight > 0 {
		l.inflight, l.maxInflight, l.fixedMany = b.MaxInFlight, b.MaxInFlight, true
	}
	return l
}

// Events is the batch size now.
func (l *flushLimits) Events() int { return l.events }

// Inflight is how many flushes may be in flight now.
func (l *flushLimits) Inflight() int { return l.inflight }

// flushObservation is how one flush went: records written in it, whether
// the batch was full (flushed for batch.max_events), whether a lane waited
// for the in-flight limit since the last one, how long the round trip took
// (its last attempt), and whether it failed.
type flushObservation struct {
	records  int
	full     bool
	waited   bool
	duration time.Duration
	failed   bool
}

// Observe takes note of a finished flush and reports whether a limit
// changed.
func (l *flushLimits) Observe(o flushObservation) bool {
	events, inflight := l.events, l.inflight
	switch {
	case o.failed:
		events, inflight = events/2, inflight/2
	case o.duration > l.target:
		events, inflight = events-events/4, inflight-1
	default:
		if o.full {
			events *= 2
		}
		if o.waited && o.duration <= l.target/2 {
			inflight++
		}
	}
	if !l.fixedEvents {
		events = min(max(events, l.minEvents), l.maxEvents)
		l.events, events = events, l.events
	} else {
		events = l.events
	}
	if !l.fixedMany {
		inflight = min(max(inflight, 1), l.maxInflight)
		l.inflight, inflight = inflight, l.inflight
	} else {
		inflight = l.inflight
	}
	return events != l.events || inflight != l.inflight
}
