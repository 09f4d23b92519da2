package connector

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
)

// The lane scheduler's tests: no Kafka, no Redis, no goroutines, no sleeps;
// the clock is t0 plus what each step says.

var (
	t0         = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	errRedis   = errors.New("sink: connection refused")
	testBatch  = config.Batch{MaxEvents: 10, MaxBytes: 1 << 20, Timeout: 100 * time.Millisecond, MaxInFlight: 1, MaxBufferedBytes: 1 << 30}
	laneTopic  = "events"
	retryDelay = 200 * time.Millisecond
)

// laneRecs returns n records of partition p, offsets from off, of size bytes each.
func laneRecs(p int32, off int64, n, size int) []*kgo.Record {
	recs := make([]*kgo.Record, n)
	for i := range recs {
		recs[i] = &kgo.Record{Topic: laneTopic, Partition: p, Offset: off + int64(i), Value: make([]byte, size)}
	}
	return recs
}

// partitionsOf returns, for each lane of s, the first partition mapped to it.
func partitionsOf(t *testing.T, s *laneSet) []int32 {
	t.Helper()
	out := make([]int32, len(s.lanes))
	seen := make([]bool, len(s.lanes))
	found := 0
	for p := int32(0); p < 1000 && found < len(s.lanes); p++ {
		if id := s.laneOf(laneTopic, p).id; !seen[id] {
			out[id], seen[id] = p, true
			found++
		}
	}
	if found < len(s.lanes) {
		t.Fatalf("no partition for every lane: got %v", out)
	}
	return out
}

func offsets(b *pendingBatch) []int64 {
	out := make([]int64, len(b.recs))
	for i, rec := range b.recs {
		out[i] = rec.Offset
	}
	return out
}

func failed(now time.Time) flushResult {
	return flushResult{err: errRedis, now: now, retryIn: retryDelay}
}

func written(now time.Time) flushResult { return flushResult{now: now} }

func TestLaneSetFailedBatchGoesFirst(t *testing.T) {
	for _, tc := range []struct {
		name    string
		at      time.Duration // after the failure
		want    []int64       // offsets handed out; nil: nothing
		isRetry bool
	}{
		{name: "before its retry time nothing goes", at: retryDelay - time.Nanosecond},
		{name: "at its retry time the failed batch goes, not the newer records", at: retryDelay, want: []int64{0, 1, 2}, isRetry: true},
		{name: "later still the failed batch goes first", at: time.Hour, want: []int64{0, 1, 2}, isRetry: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newLaneSet(testBatch)
			s.Add(laneTopic, 0, laneRecs(0, 0, 3, 10), t0)
			first := s.Next(t0)
			if len(first) != 1 {
				t.Fatalf("first Next: got %d launches, want 1", len(first))
			}
			s.Add(laneTopic, 0, laneRecs(0, 3, 2, 10), t0)
			if got := s.Next(t0); len(got) != 0 {
				t.Fatalf("Next with the lane's batch in flight: got %d launches, want 0", len(got))
			}
			if o := s.Finished(first[0].batch, failed(t0)); o.kind != outcomeRetry || !o.retryAt.Equal(t0.Add(retryDelay)) {
				t.Fatalf("Finished: got kind %d retry at %v, want retry at %v", o.kind, o.retryAt, t0.Add(retryDelay))
			}
			got := s.Next(t0.Add(tc.at))
			if tc.want == nil {
				if len(got) != 0 {
					t.Fatalf("Next: got %d launches, want 0", len(got))
				}
				return
			}
			if len(got) != 1 || got[0].retry != tc.isRetry || got[0].batch != first[0].batch {
				t.Fatalf("Next: got %+v, want the failed batch again", got)
			}
			if o := offsets(got[0].batch); !equalInt64(o, tc.want) {
				t.Fatalf("offsets: got %v, want %v", o, tc.want)
			}
			s.Finished(got[0].batch, written(t0.Add(tc.at)))
			after := s.Next(t0.Add(tc.at))
			if len(after) != 1 || after[0].retry || !equalInt64(offsets(after[0].batch), []int64{3, 4}) {
				t.Fatalf("Next after the retry was written: got %+v, want the newer records 3, 4", after)
			}
		})
	}
}

func equalInt64(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestLaneSetBackpressure(t *testing.T) {
	for _, tc := range []struct {
		name     string
		batch    config.Batch
		add      int // records of 100 bytes
		inFlight bool
		want     bool
	}{
		// maxRecords is max(4*10, 500) = 500 for one lane.
		{name: "records below the bound", batch: testBatch, add: 499},
		{name: "records at the bound", batch: testBatch, add: 500, want: true},
		{name: "records in flight do not count", batch: testBatch, add: 500, inFlight: true},
		{name: "bytes below the bound", batch: withBufferedBytes(testBatch, 1000), add: 9},
		{name: "bytes at the bound", batch: withBufferedBytes(testBatch, 1000), add: 10, want: true},
		{name: "bytes in flight count", batch: withBufferedBytes(testBatch, 1000), add: 10, inFlight: true, want: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newLaneSet(tc.batch)
			s.Add(laneTopic, 0, laneRecs(0, 0, tc.add, 100), t0)
			if tc.inFlight {
				s.Next(t0)
			}
			if got := s.Full(); got != tc.want {
				records, bytes := s.Buffered()
				t.Fatalf("Full with %d records, %d bytes: got %v, want %v", records, bytes, got, tc.want)
			}
		})
	}
}

func withBufferedBytes(b config.Batch, n int) config.Batch {
	b.MaxBufferedBytes = n
	return b
}

// Backpressure comes on with a failed batch (it stays buffered) and goes
// off once it is written.
func TestLaneSetBackpressureOnAndOff(t *testing.T) {
	s := newLaneSet(withBufferedBytes(testBatch, 1000))
	s.Add(laneTopic, 0, laneRecs(0, 0, 10, 100), t0)
	l := s.Next(t0)
	if !s.Full() {
		t.Fatalf("Full with 1000 bytes in flight: got false, want true")
	}
	s.Finished(l[0].batch, failed(t0))
	if records, bytes := s.Buffered(); records != 10 || bytes != 1000 || !s.Full() {
		t.Fatalf("after the failure: got %d records, %d bytes, full %v; want 10, 1000, true", records, bytes, s.Full())
	}
	l = s.Next(t0.Add(retryDelay))
	s.Finished(l[0].batch, written(t0.Add(retryDelay)))
	if records, bytes := s.Buffered(); records != 0 || bytes != 0 || s.Full() {
		t.Fatalf("after the retry was written: got %d records, %d bytes, full %v; want 0, 0, false", records, bytes, s.Full())
	}
}

func TestLaneSetPauseResume(t *testing.T) {
	type step struct {
		lane       int // which lane's batch finishes
		err        error
		stop       bool // shutdown begins before it finishes
		wantPause  bool
		wantResume bool
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{name: "a failure pauses, its retry written resumes", steps: []step{
			{lane: 0, err: errRedis, wantPause: true},
			{lane: 0, wantResume: true},
		}},
		{name: "written batches never pause or resume", steps: []step{
			{lane: 0}, {lane: 1},
		}},
		{name: "a second failure does not pause again", steps: []step{
			{lane: 0, err: errRedis, wantPause: true},
			{lane: 1, err: errRedis},
		}},
		{name: "resume only once no lane holds a failed batch", steps: []step{
			{lane: 0, err: errRedis, wantPause: true},
			{lane: 1, err: errRedis},
			{lane: 0},
			{lane: 1, wantResume: true},
		}},
		{name: "a lane written while another failed does not resume", steps: []step{
			{lane: 0, err: errRedis, wantPause: true},
			{lane: 1},
		}},
		{name: "no pause while stopping", steps: []step{
			{lane: 0, err: errRedis, stop: true},
		}},
		{name: "no resume once stopping", steps: []step{
			{lane: 0, err: errRedis, wantPause: true},
			{lane: 0, stop: true},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := testBatch
			b.MaxInFlight = 2
			s := newLaneSet(b)
			parts := partitionsOf(t, s)
			now := t0
			for i, st := range tc.steps {
				p := parts[st.lane]
				s.Add(laneTopic, p, laneRecs(p, int64(i), 1, 10), now)
				next, ok := s.Front(st.lane, FlushIdle, now)
				if !ok {
					t.Fatalf("step %d: lane %d got nothing to write", i, st.lane)
				}
				mine := next.batch
				s.Launched(mine)
				if st.stop {
					s.Stop()
				}
				o := s.Finished(mine, flushResult{err: st.err, now: now, retryIn: retryDelay})
				if o.pause != st.wantPause || o.resume != st.wantResume {
					t.Fatalf("step %d: got pause %v resume %v, want pause %v resume %v", i, o.pause, o.resume, st.wantPause, st.wantResume)
				}
				now = now.Add(retryDelay)
			}
		})
	}
}

func TestLaneSetForgetWhileRetryWaits(t *testing.T) {
	for _, tc := range []struct {
		name       string
		forget     map[string][]int32
		wantFailed []int64 // offsets left in the failed batch; nil: none left
		wantBuffer int     // records left batching
		wantResume bool
		wantWait   time.Duration // Wait at t0, with nothing else due
	}{
		{name: "another topic: nothing changes", forget: map[string][]int32{"other": {0, 1}},
			wantFailed: []int64{0, 1, 10, 11}, wantBuffer: 2, wantWait: retryDelay},
		{name: "one of two partitions: the rest still waits for its retry", forget: map[string][]int32{laneTopic: {1}},
			wantFailed: []int64{0, 1}, wantBuffer: 1, wantWait: retryDelay},
		{name: "both partitions: the failed batch is gone and fetching resumes", forget: map[string][]int32{laneTopic: {0, 1}},
			wantResume: true, wantWait: time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newLaneSet(testBatch)
			s.Add(laneTopic, 0, laneRecs(0, 0, 2, 10), t0)
			s.Add(laneTopic, 1, laneRecs(1, 10, 2, 10), t0)
			l := s.Next(t0)
			if o := s.Finished(l[0].batch, failed(t0)); !o.pause {
				t.Fatalf("Finished: got no pause, want one")
			}
			s.Add(laneTopic, 0, laneRecs(0, 2, 1, 10), t0)
			s.Add(laneTopic, 1, laneRecs(1, 12, 1, 10), t0)
			if got := s.Forget(tc.forget); got != tc.wantResume {
				t.Fatalf("Forget: got resume %v, want %v", got, tc.wantResume)
			}
			f := s.lanes[0].failed
			switch {
			case tc.wantFailed == nil && f != nil:
				t.Fatalf("failed batch: got %v, want none", offsets(f))
			case tc.wantFailed != nil && (f == nil || !equalInt64(offsets(f), tc.wantFailed)):
				t.Fatalf("failed batch: got %v, want %v", f, tc.wantFailed)
			}
			if f != nil && f.bytes != 10*len(f.recs) {
				t.Errorf("failed batch bytes: got %d, want %d", f.bytes, 10*len(f.recs))
			}
			if got := s.lanes[0].batcher.Len(); got != tc.wantBuffer {
				t.Errorf("records batching: got %d, want %d", got, tc.wantBuffer)
			}
			// The batcher's own timeout would make the wait shorter:
			// compare with nothing batching.
			s.lanes[0].batcher.RemoveIf(func(*kgo.Record) bool { return true })
			if got := s.Wait(t0); got != tc.wantWait {
				t.Errorf("Wait: got %v, want %v", got, tc.wantWait)
			}
		})
	}
}

func TestLaneSetRetryDeadline(t *testing.T) {
	for _, tc := range []struct {
		name        string
		err         error
		priorFail   bool // the lane failed once before, at t0
		wantKind    outcomeKind
		wantRetryAt time.Time
		wantWait    time.Duration // at t0+50ms
	}{
		{name: "a failure retries after retryIn", err: errRedis,
			wantKind: outcomeRetry, wantRetryAt: t0.Add(50*time.Millisecond + retryDelay), wantWait: retryDelay},
		{name: "a timeout is a failure like any other", err: context.DeadlineExceeded,
			wantKind: outcomeRetry, wantRetryAt: t0.Add(50*time.Millisecond + retryDelay), wantWait: retryDelay},
		{name: "a canceled write keeps the earlier retry time", err: context.Canceled, priorFail: true,
			wantKind: outcomeCanceled, wantRetryAt: t0.Add(retryDelay), wantWait: retryDelay - 50*time.Millisecond},
		{name: "a canceled write with no earlier failure may go at once", err: context.Canceled,
			wantKind: outcomeCanceled, wantWait: time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newLaneSet(testBatch)
			s.Add(laneTopic, 0, laneRecs(0, 0, 1, 10), t0)
			l := s.Next(t0)
			if tc.priorFail {
				s.Finished(l[0].batch, failed(t0))
				if l = s.Next(t0.Add(retryDelay)); len(l) != 1 {
					t.Fatalf("Next at the retry time: got %d launches, want 1", len(l))
				}
			}
			at := t0.Add(50 * time.Millisecond)
			o := s.Finished(l[0].batch, flushResult{err: tc.err, now: at, retryIn: retryDelay})
			if o.kind != tc.wantKind {
				t.Fatalf("kind: got %d, want %d", o.kind, tc.wantKind)
			}
			if tc.wantKind == outcomeRetry && !o.retryAt.Equal(tc.wantRetryAt) {
				t.Errorf("retryAt: got %v, want %v", o.retryAt, tc.wantRetryAt)
			}
			if got := s.lanes[0].retryAt; !got.Equal(tc.wantRetryAt) {
				t.Errorf("lane retryAt: got %v, want %v", got, tc.wantRetryAt)
			}
			if s.lanes[0].failed != l[0].batch {
				t.Errorf("failed batch: got %v, want the batch", s.lanes[0].failed)
			}
			if got := s.Wait(at); got != tc.wantWait {
				t.Errorf("Wait: got %v, want %v", got, tc.wantWait)
			}
			due := s.lanes[0].retryAt
			if got := s.Next(due.Add(-time.Nanosecond)); len(got) != 0 && !due.IsZero() {
				t.Errorf("Next just before the retry time: got %d launches, want 0", len(got))
			}
			if got := s.Next(due); len(got) != 1 || !got[0].retry {
				t.Errorf("Next at the retry time: got %+v, want the failed batch", got)
			}
		})
	}
}

func TestLaneSetFront(t *testing.T) {
	s := newLaneSet(testBatch)
	if _, ok := s.Front(0, FlushShutdown, t0); ok {
		t.Fatalf("Front of an empty lane: got a batch, want none")
	}
	s.Add(laneTopic, 0, laneRecs(0, 0, 2, 10), t0)
	l := s.Next(t0)
	s.Finished(l[0].batch, failed(t0))
	s.Add(laneTopic, 0, laneRecs(0, 2, 1, 10), t0)
	f, ok := s.Front(0, FlushShutdown, t0)
	if !ok || !f.retry || f.batch != l[0].batch || !f.retryAt.Equal(t0.Add(retryDelay)) {
		t.Fatalf("Front: got %+v, want the failed batch, retry at %v", f, t0.Add(retryDelay))
	}
	s.Launched(f.batch)
	s.Finished(f.batch, written(t0))
	f, ok = s.Front(0, FlushShutdown, t0)
	if !ok || f.retry || f.batch.reason != FlushShutdown || !equalInt64(offsets(f.batch), []int64{2}) {
		t.Fatalf("Front after the retry: got %+v, want record 2 flushed for shutdown", f)
	}
	if s.inflight != 0 {
		t.Errorf("in flight: got %d, want 0 (Front does not launch)", s.inflight)
	}
}

func TestLaneSetPollRecords(t *testing.T) {
	for _, tc := range []struct {
		name     string
		buffered int // bytes: records of 100 bytes
		polled   bool
		want     int
	}{
		// room 10,000: before the first poll a record counts as batch.max_bytes (1,000).
		{name: "before the first poll", want: 10},
		{name: "after a poll, the average record size", polled: true, buffered: 2000, want: 80},
		{name: "no room left: still one", polled: true, buffered: 10000, want: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := testBatch
			b.MaxBytes, b.MaxBufferedBytes = 1000, 10000
			s := newLaneSet(b)
			if tc.polled {
				n := tc.buffered / 100
				s.Polled(n, s.Add(laneTopic, 0, laneRecs(0, 0, n, 100), t0))
			}
			if got := s.PollRecords(); got != tc.want {
				t.Fatalf("PollRecords: got %d, want %d", got, tc.want)
			}
		})
	}
}
