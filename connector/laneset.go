package connector

import (
	"context"
	"errors"
	"hash/fnv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
)

// lane is one ordered path to Redis: the partitions mapped to it share its
// Batcher and at most one flush in flight.
type lane struct {
	id       int
	batcher  *Batcher
	inflight *pendingBatch // being written by a flush goroutine
	failed   *pendingBatch // failed after its retries; goes again before anything newer
	retryAt  time.Time
}

type recordState uint8

const (
	statePending      recordState = iota
	stateWritten                  // Redis acknowledged it
	stateDeadLettered             // skipped or in the dead-letter topic
	statePoisoned                 // cannot be written, errors.policy fail: never committed
	stateQueued                   // cannot be written, queued for the dead-letter topic
)

// pendingBatch is a batch under way and what became of each record.
type pendingBatch struct {
	lane     *lane
	recs     []*kgo.Record
	state    []recordState // written by the flush, read by apply
	applied  []bool        // reported to the tracker
	reason   FlushReason
	started  time.Time
	err      error          // the flush's outcome: nil when no record is left pending
	fatal    error          // a record poisoned under errors.policy fail
	rejected []poisonRecord // for the dead-letter topic; apply hands them over
	bytes    int            // RecordSize of recs, summed
}

// laneSet decides what the lanes write and when: which batch goes next on
// each lane (a failed one before anything newer), when a failed batch may
// go again, when fetching pauses and resumes, and how much the lanes may
// buffer before polling stops. It is the policy half of the run loop, as the
// Batcher is of one lane: no Kafka calls, no metrics, no goroutines, and
// the clock is an argument. The Connector owns the goroutines that write
// the batches it hands out, and tells it how each one finished.
type laneSet struct {
	lanes []*lane
	// inflight counts the batches handed out and not finished.
	inflight int
	// paused is true from a failed write until no lane holds a failed
	// batch any more (fetching is paused meanwhile).
	paused bool
	// stopping is set when shutdown begins: no resuming from then on.
	stopping bool

	// limit is how many batches may be in flight at once (the in-flight
	// limit in effect, at most one per lane); next is the lane Next looks
	// at first, so lanes take turns while the limit holds them back;
	// waited is set when a lane with something to write had to wait for
	// the limit, and cleared by TakeWaited.
	limit, next int
	waited      bool

	// maxRecords bounds the records held in lanes; past it, or past
	// maxBytes (batch.max_buffered_bytes), the loop waits for flushes
	// instead of polling (backpressure on a slow Redis).
	maxRecords, maxBytes int
	// pollLimit is the most records one poll may take; maxBatchBytes
	// (the batch bytes in effect) is the record size assumed before the
	// first poll.
	pollLimit, maxBatchBytes int
	// avgRecordBytes is a moving average of RecordSize over the polls.
	avgRecordBytes int
	// peakBytes is the most bytes ever buffered, for tests.
	peakBytes int
}

// newLaneSet builds a lane for each flush batch allows in flight at most
// (batch.max_in_flight, or AdaptiveMaxInFlight when it adapts), with the
// limits flushLimits starts with; batch.MaxBufferedBytes must be positive.
func newLaneSet(batch config.Batch) *laneSet {
	s := &laneSet{maxBytes: batch.MaxBufferedBytes}
	for i := range inflightCap(batch) {
		s.lanes = append(s.lanes, &lane{id: i, batcher: NewBatcher(1, 1, batch.Timeout)})
	}
	start := newFlushLimits(batch)
	s.SetLimits(start.Events(), start.Bytes(), start.Inflight())
	return s
}

// bufferLimits are the poll limit and the most records the lanes may hold
// with batches of events records and inflight flushes in flight: a poll
// takes a few batches' worth, enough to fill batches at high load and few
// enough that a poll is processed well within the rebalance timeout even
// when Redis is slow; the lanes hold up to four batches per flush in
// flight.
func bufferLimits(events, inflight int) (pollLimit, maxRecords int) {
	pollLimit = max(4*events, 500)
	return pollLimit, inflight * pollLimit
}

// SetLimits sets the batch size in records and in bytes and the in-flight
// limit (what flushLimits decided); the poll limit and the records the
// lanes may hold follow them. A batch already in flight keeps its size.
func (s *laneSet) SetLimits(events, bytes, inflight int) {
	for _, l := range s.lanes {
		l.batcher.SetLimits(events, bytes)
	}
	s.maxBatchBytes = bytes
	s.limit = min(max(inflight, 1), len(s.lanes))
	s.pollLimit, s.maxRecords = bufferLimits(events, s.limit)
}

// TakeWaited reports whether a lane had to wait for the in-flight limit
// since the last call.
func (s *laneSet) TakeWaited() bool {
	w := s.waited
	s.waited = false
	return w
}

// launch is a batch to write: a new one, or a lane's failed batch going
// again (retry), which may not start before retryAt.
type launch struct {
	batch   *pendingBatch
	retry   bool
	retryAt time.Time
}

// flushResult is how a write of a batch ended: err is the batch's error
// (nil when no record is left pending), now the time it ended, and retryIn
// how long a failed batch waits before it goes again.
type flushResult struct {
	err     error
	now     time.Time
	retryIn time.Duration
}

// outcomeKind is what became of a finished batch.
type outcomeKind uint8

const (
	// outcomeWritten: nothing of the batch is left pending.
	outcomeWritten outcomeKind = iota
	// outcomeRetry: the batch failed and goes again at retryAt, before
	// anything newer on its lane.
	outcomeRetry
	// outcomeCanceled: the write was canceled (stopping); the batch stays
	// the lane's failed batch for the shutdown flush to take.
	outcomeCanceled
)

// outcome is what Finished decided: pause means fetching must pause now
// (it was not paused), resume that it may resume (no lane holds a failed
// batch any more).
type outcome struct {
	kind    outcomeKind
	retryAt time.Time
	pause   bool
	resume  bool
}

// laneOf is the lane of a partition: always the same one, so a partition's
// records reach Redis in Kafka order.
func (s *laneSet) laneOf(topic string, partition int32) *lane {
	if len(s.lanes) == 1 {
		return s.lanes[0]
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(topic))
	return s.lanes[(h.Sum32()+uint32(partition))%uint32(len(s.lanes))]
}

// Add buffers polled records of one partition on its lane and returns their
// bytes (RecordSize, summed).
func (s *laneSet) Add(topic string, partition int32, recs []*kgo.Record, now time.Time) int {
	l := s.laneOf(topic, partition)
	n := 0
	for _, rec := range recs {
		l.batcher.Add(rec, now)
		n += RecordSize(rec)
	}
	return n
}

// Polled takes note of a poll that brought records of bytes in total, for
// the size of the next poll.
func (s *laneSet) Polled(records, bytes int) {
	if records > 0 {
		avg := bytes / records
		if s.avgRecordBytes > 0 {
			avg = (3*s.avgRecordBytes + avg) / 4
		}
		s.avgRecordBytes = max(avg, 1)
	}
	_, b := s.Buffered()
	s.peakBytes = max(s.peakBytes, b)
}

// take removes the front batch of l's Batcher.
func (s *laneSet) take(l *lane, reason FlushReason, now time.Time) *pendingBatch {
	recs := l.batcher.Front(nil)
	l.batcher.Remove(len(recs))
	return &pendingBatch{lane: l, recs: recs, state: make([]recordState, len(recs)),
		applied: make([]bool, len(recs)), reason: reason, started: now, bytes: recordsSize(recs)}
}

// Next hands out, marked in flight, a batch for every lane that has nothing
// in flight and something to write: its failed batch once its retry time
// came, or what it buffered (natural batching: a lane does not wait for a
// full batch while nothing of it is in flight).
//
// No more than the in-flight limit are in flight at once; the lanes take
// turns while it holds them back.
func (s *laneSet) Next(now time.Time) []launch {
	var out []launch
	n := len(s.lanes)
	for k := range n {
		i := (s.next + k) % n
		l := s.lanes[i]
		if l.inflight != nil {
			continue
		}
		ready := l.batcher.Len() > 0
		if l.failed != nil {
			ready = !now.Before(l.retryAt)
		}
		if !ready {
			continue
		}
		if s.inflight >= s.limit {
			s.waited = true
			continue
		}
		s.next = (i + 1) % n
		if l.failed != nil {
			out = append(out, launch{batch: l.failed, retry: true, retryAt: l.retryAt})
			s.Launched(l.failed)
			continue
		}
		reason, due := l.batcher.Due(now)
		if !due {
			reason = FlushIdle
		}
		b := s.take(l, reason, now)
		out = append(out, launch{batch: b})
		s.Launched(b)
	}
	return out
}

// Front returns lane i's next batch in order, not yet in flight: its
// failed batch (which may not go again before retryAt), or, taken from its
// Batcher with reason, what it buffered. ok is false when the lane holds
// nothing. The synchronous flushes (revoke, shutdown) go through the lanes
// one after another with it. Lane i must have nothing in flight.
func (s *laneSet) Front(i int, reason FlushReason, now time.Time) (launch, bool) {
	l := s.lanes[i]
	switch {
	case l.failed != nil:
		return launch{batch: l.failed, retry: true, retryAt: l.retryAt}, true
	case l.batcher.Len() > 0:
		return launch{batch: s.take(l, reason, now)}, true
	}
	return launch{}, false
}

// Launched marks b in flight on its lane.
func (s *laneSet) Launched(b *pendingBatch) {
	b.lane.inflight = b
	s.inflight++
}

// Finished takes back a batch that was in flight and decides what follows:
// written, or retried at res.now+res.retryIn before anything newer on its
// lane (fetching pauses at the first failure, unless stopping), or, when
// the write was canceled, left to the shutdown flush. Fetching resumes once
// no lane holds a failed batch.
func (s *laneSet) Finished(b *pendingBatch, res flushResult) outcome {
	l := b.lane
	if l.inflight == b {
		l.inflight = nil
		s.inflight--
	}
	if res.err != nil {
		l.failed = b
		if errors.Is(res.err, context.Canceled) {
			return outcome{kind: outcomeCanceled}
		}
		l.retryAt = res.now.Add(res.retryIn)
		o := outcome{kind: outcomeRetry, retryAt: l.retryAt}
		if !s.stopping && !s.paused {
			s.paused, o.pause = true, true
		}
		return o
	}
	l.failed = nil
	return outcome{kind: outcomeWritten, resume: s.mayResume()}
}

// mayResume reports whether fetching, paused, may resume now that no lane
// holds a failed batch, and takes note that it does. Never while stopping.
func (s *laneSet) mayResume() bool {
	if !s.paused || s.stopping {
		return false
	}
	for _, l := range s.lanes {
		if l.failed != nil {
			return false
		}
	}
	s.paused = false
	return true
}

// Forget drops the records of the given partitions from the lanes, from
// their Batchers and from their failed batches (a failed batch left empty
// is gone). It reports whether fetching may resume, as Finished does.
// Nothing may be in flight.
func (s *laneSet) Forget(parts map[string][]int32) (resume bool) {
	gone := func(rec *kgo.Record) bool {
		for _, p := range parts[rec.Topic] {
			if p == rec.Partition {
				return true
			}
		}
		return false
	}
	for _, l := range s.lanes {
		l.batcher.RemoveIf(gone)
		if b := l.failed; b != nil {
			keep := 0
			for i, rec := range b.recs {
				if !gone(rec) {
					b.recs[keep], b.state[keep], b.applied[keep] = rec, b.state[i], b.applied[i]
					keep++
				}
			}
			b.recs, b.state, b.applied = b.recs[:keep], b.state[:keep], b.applied[:keep]
			b.bytes = recordsSize(b.recs)
			if keep == 0 {
				l.failed = nil
			}
		}
	}
	return s.mayResume()
}

// Stop takes note that shutdown began: fetching never resumes from then on.
func (s *laneSet) Stop() { s.stopping = true }

// Stopping reports whether Stop was called.
func (s *laneSet) Stopping() bool { return s.stopping }

// Len is the number of lanes (batch.max_in_flight, or AdaptiveMaxInFlight).
func (s *laneSet) Len() int { return len(s.lanes) }

// Inflight is the number of batches handed out and not finished.
func (s *laneSet) Inflight() int { return s.inflight }

// Buffered returns how many records the lanes hold (batching and failed:
// a batch in flight counts only in bytes) and their bytes (batching, in
// flight and failed).
func (s *laneSet) Buffered() (records, bytes int) {
	for _, l := range s.lanes {
		records += l.batcher.Len()
		bytes += l.batcher.Bytes()
		if l.failed != nil {
			records += len(l.failed.recs)
		}
		if l.inflight != nil {
			bytes += l.inflight.bytes
		}
		if l.failed != nil && l.failed != l.inflight {
			bytes += l.failed.bytes
		}
	}
	return records, bytes
}

// Full reports whether the lanes hold enough, in records or in bytes
// (batch.max_buffered_bytes), to stop polling until a flush finishes.
func (s *laneSet) Full() bool {
	records, bytes := s.Buffered()
	return records >= s.maxRecords || bytes >= s.maxBytes
}

// PollRecords is how many records the next poll may take: the poll limit,
// or fewer when that many records of the average size seen so far would
// pass batch.max_buffered_bytes. Fetch limits count compressed bytes, so
// they alone do not bound what one poll brings in. Before the first poll
// a record is assumed as large as batch.max_bytes.
func (s *laneSet) PollRecords() int {
	avg := s.avgRecordBytes
	if avg <= 0 {
		avg = s.maxBatchBytes
	}
	_, bytes := s.Buffered()
	room := s.maxBytes - bytes
	return min(max(room/max(avg, 1), 1), s.pollLimit)
}

// Wait is how long the next poll may block: until a failed batch may be
// retried or a lane's batch is due (while the in-flight limit lets one
// start), at most a second and at least a millisecond; a finished flush
// wakes the poll earlier.
func (s *laneSet) Wait(now time.Time) time.Duration {
	wait := time.Second
	if s.inflight >= s.limit {
		// Nothing may start before a flush finishes, and that wakes the
		// poll.
		return wait
	}
	for _, l := range s.lanes {
		switch {
		case l.inflight != nil:
		case l.failed != nil:
			wait = min(wait, l.retryAt.Sub(now))
		default:
			if d, ok := l.batcher.UntilNext(now); ok {
				wait = min(wait, d)
			}
		}
	}
	return max(wait, time.Millisecond)
}

func recordsSize(recs []*kgo.Record) int {
	n := 0
	for _, rec := range recs {
		n += RecordSize(rec)
	}
	return n
}
