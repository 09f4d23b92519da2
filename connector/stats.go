package connector

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/kafka-redis-connector/kafka-redis-connector/internal/latency"
)

// BreakerState is the circuit breaker's state as exported: 0 closed,
// 1 half-open, 2 open.
type BreakerState int32

// The breaker states, numbered as the krc_circuit_breaker_state metric.
const (
	BreakerClosed   BreakerState = 0
	BreakerHalfOpen BreakerState = 1
	BreakerOpen     BreakerState = 2
)

func (s BreakerState) String() string {
	switch s {
	case BreakerHalfOpen:
		return "HALF_OPEN"
	case BreakerOpen:
		return "OPEN"
	}
	return "CLOSED"
}

// Snapshot holds the connector's cumulative counters at one instant. The
// demo's live line and the /stats endpoint both derive their figures from
// two snapshots, so they show the same numbers.
type Snapshot struct {
	At           time.Time
	Consumed     uint64
	Written      uint64
	DeadLettered uint64
	Dropped      uint64
	Batches      uint64
	BatchRecords uint64
	// MaxEvents and MaxInFlight are the batch size and the flushes in
	// flight in effect (adapted, or as configured).
	MaxEvents     int
	MaxInFlight   int
	MaxBytes      int
	BreakerState  BreakerState
	BreakerTrips  uint64
	Commits       uint64
	CommitErrors  uint64
	Latency       latency.Counts
	Lag           int64 // high watermark minus committed offset, summed over assigned partitions
	Uncommitted   int   // records polled and not yet committable
	FetchPaused   bool
	InGroup       bool
	PartitionLags map[string]map[int32]int64
	// DLQFailing is true while producing to the dead-letter topic fails
	// (and is being retried); DLQProduceErrors counts those failures.
	DLQFailing       bool
	DLQProduceErrors uint64
	// Guarantee is delivery.guarantee; Deduplicated counts the records
	// exactly_once found already in Redis (Written includes them).
	Guarantee    string
	Deduplicated uint64
}

// Efficiency is the average batch size over the batch size in effect,
// 0..1.
func (s Snapshot) Efficiency() float64 {
	if s.Batches == 0 || s.MaxEvents == 0 {
		return 0
	}
	return min(float64(s.BatchRecords)/float64(s.Batches)/float64(s.MaxEvents), 1)
}

// AvgBatchSize is the average records per flushed batch.
func (s Snapshot) AvgBatchSize() float64 {
	if s.Batches == 0 {
		return 0
	}
	return float64(s.BatchRecords) / float64(s.Batches)
}

// counters are the atomics behind a Snapshot.
type counters struct {
	consumed, written, deadLettered, dropped atomic.Uint64
	batches, batchRecords                    atomic.Uint64
	trips, commits, commitErrors             atomic.Uint64
	breaker                                  atomic.Int32
	fetchPaused, inGroup, dlqFailing         atomic.Bool
	dlqErrors                                atomic.Uint64
	uncommitted                              atomic.Int64
	deduplicated                             atomic.Uint64
	maxEvents, maxInFlight, maxBytes         atomic.Int64
	latency                                  latency.Histogram

	lagMu sync.Mutex
	lags  map[string]map[int32]int64
}

func (c *counters) setLag(topic string, partition int32, lag int64) {
	c.lagMu.Lock()
	defer c.lagMu.Unlock()
	if c.lags == nil {
		c.lags = make(map[string]map[int32]int64)
	}
	if c.lags[topic] == nil {
		c.lags[topic] = make(map[int32]int64)
	}
	c.lags[topic][partition] = lag
}

func (c *counters) dropLags(partitions map[string][]int32) {
	c.lagMu.Lock()
	defer c.lagMu.Unlock()
	for topic, ps := range partitions {
		for _, p := range ps {
			delete(c.lags[topic], p)
		}
	}
}

func (c *counters) snapshot() Snapshot {
	s := Snapshot{
		At:           time.Now(),
		Consumed:     c.consumed.Load(),
		Written:      c.written.Load(),
		DeadLettered: c.deadLettered.Load(),
		Dropped:      c.dropped.Load(),
		Batches:      c.batches.Load(),
		BatchRecords: c.batchRecords.Load(),
		MaxEvents:    int(c.maxEvents.Load()),
		MaxInFlight:  int(c.maxInFlight.Load()),
		MaxBytes:     int(c.maxBytes.Load()),
		BreakerState: BreakerState(c.breaker.Load()),
		BreakerTrips: c.trips.Load(),
		Commits:      c.commits.Load(),
		CommitErrors: c.commitErrors.Load(),
		Latency:      c.latency.Snapshot(),
		Uncommitted:  int(c.uncommitted.Load()),
		FetchPaused:  c.fetchPaused.Load(),
		InGroup:      c.inGroup.Load(),

		DLQFailing:       c.dlqFailing.Load(),
		DLQProduceErrors: c.dlqErrors.Load(),
		Deduplicated:     c.deduplicated.Load(),
	}
	c.lagMu.Lock()
	s.PartitionLags = make(map[string]map[int32]int64, len(c.lags))
	for topic, ps := range c.lags {
		m := make(map[int32]int64, len(ps))
		for p, lag := range ps {
			m[p] = lag
			s.Lag += lag
		}
		s.PartitionLags[topic] = m
	}
	c.lagMu.Unlock()
	return s
}
