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
	// AdaptiveMinBytes, AdaptiveMaxBytes bound the batch bytes it adapts
	// when batch.max_bytes is 0; it starts with the smallest.
	AdaptiveMinBytes = 1 << 20
	AdaptiveMaxBytes = 4 << 20
	// AdaptiveMaxInFlight is the most flushes in flight it allows; it
	// starts with one. The partitions are spread over this many lanes.
	AdaptiveMaxInFlight = 4
	// AdaptiveFlushTarget bounds the round trips the batch size grows
	// into: a full batch that came back within it doubles the size. A
	// flush slower than it that also took more than AdaptiveSlowdown times
	// the usual time per record makes both limits shrink.
	AdaptiveFlushTarget = 50 * time.Millisecond
	// AdaptiveSlowdown is how many times the usual time per record (a
	// moving average over the successful flushes) a flush must take to
	// count as Redis slowing down.
	AdaptiveSlowdown = 2
)

// eventsCap is the most records a batch may ever hold under b: max_events,
// or AdaptiveMaxEvents when it adapts.
func eventsCap(b config.Batch) int {
	if b.MaxEvents > 0 {
		return b.MaxEvents
	}
	return AdaptiveMaxEvents
}

// bytesCap is the most bytes a batch may ever hold under b: max_bytes, or
// AdaptiveMaxBytes (at most max_buffered_bytes) when it adapts.
func bytesCap(b config.Batch) int {
	if b.MaxBytes > 0 {
		return b.MaxBytes
	}
	if b.MaxBufferedBytes > 0 {
		return min(AdaptiveMaxBytes, b.MaxBufferedBytes)
	}
	return AdaptiveMaxBytes
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
// tuning do): while Redis keeps up, a full batch that came back within
// AdaptiveFlushTarget doubles the batch size (in records, or in bytes when
// it was full in bytes), and a flush after which a lane had waited for the
// in-flight limit adds one flush in flight; a failed flush halves all
// three, and a slow one (over AdaptiveFlushTarget and over AdaptiveSlowdown
// times the usual time per record: round trips slow down) takes a quarter
// off the batch size (records and bytes) and one flush in flight away. A
// limit set in the configuration has its minimum equal to its maximum, so
// it never moves. It is a plain synchronous type: the caller reports every
// finished flush.
type flushLimits struct {
	events, minEvents, maxEvents       int
	bytes, minBytes, maxBytes          int
	inflight, minInflight, maxInflight int
	target                             time.Duration
	// perRecord is the moving average of a successful flush's duration
	// per record (0: none seen yet).
	perRecord float64
}

// newFlushLimits returns the limits for b.
func newFlushLimits(b config.Batch) *flushLimits {
	l := &flushLimits{
		events: AdaptiveStartEvents, minEvents: AdaptiveMinEvents, maxEvents: AdaptiveMaxEvents,
		inflight: 1, minInflight: 1, maxInflight: AdaptiveMaxInFlight,
		maxBytes: bytesCap(b), target: AdaptiveFlushTarget,
	}
	l.minBytes = min(AdaptiveMinBytes, l.maxBytes)
	l.bytes = l.minBytes
	if b.MaxEvents > 0 {
		l.events, l.minEvents, l.maxEvents = b.MaxEvents, b.MaxEvents, b.MaxEvents
	}
	if b.MaxBytes > 0 {
		l.bytes, l.minBytes = b.MaxBytes, b.MaxBytes
	}
	if b.MaxInFlight > 0 {
		l.inflight, l.minInflight, l.maxInflight = b.MaxInFlight, b.MaxInFlight, b.MaxInFlight
	}
	return l
}

// Events is the batch size now.
func (l *flushLimits) Events() int { return l.events }

// Bytes is the most bytes of records in a batch now.
func (l *flushLimits) Bytes() int { return l.bytes }

// Inflight is how many flushes may be in flight now.
func (l *flushLimits) Inflight() int { return l.inflight }

// flushObservation is how one flush went: records written in it, whether
// the batch was full (flushed for batch.max_events) or full in bytes
// (batch.max_bytes), whether a lane waited
// for the in-flight limit since the last one, how long the round trip took
// (its last attempt), and whether it failed.
type flushObservation struct {
	records   int
	full      bool
	fullBytes bool
	waited    bool
	duration  time.Duration
	failed    bool
}

// Observe takes note of a finished flush and reports whether a limit
// changed.
func (l *flushLimits) Observe(o flushObservation) bool {
	events, inflight, bytes := l.events, l.inflight, l.bytes
	switch {
	case o.failed:
		events, inflight, bytes = events/2, inflight/2, bytes/2
	case l.slow(o):
		events, inflight, bytes = events-events/4, inflight-1, bytes-bytes/4
	default:
		if o.full && o.duration <= l.target {
			events *= 2
		}
		if o.fullBytes && o.duration <= l.target {
			bytes *= 2
		}
		if o.waited {
			inflight++
		}
	}
	if !o.failed && o.records > 0 {
		per := float64(o.duration) / float64(o.records)
		if l.perRecord == 0 {
			l.perRecord = per
		} else {
			l.perRecord = 0.9*l.perRecord + 0.1*per
		}
	}
	before := [3]int{l.events, l.bytes, l.inflight}
	l.events = min(max(events, l.minEvents), l.maxEvents)
	l.bytes = min(max(bytes, l.minBytes), l.maxBytes)
	l.inflight = min(max(inflight, l.minInflight), l.maxInflight)
	return before != [3]int{l.events, l.bytes, l.inflight}
}

// slow reports whether a successful flush shows Redis slowing down: it took
// longer than the target, and longer per record than AdaptiveSlowdown times
// the usual (with nothing usual yet, the target alone decides).
func (l *flushLimits) slow(o flushObservation) bool {
	if o.duration <= l.target {
		return false
	}
	if l.perRecord == 0 || o.records == 0 {
		return true
	}
	return float64(o.duration)/float64(o.records) > AdaptiveSlowdown*l.perRecord
}
