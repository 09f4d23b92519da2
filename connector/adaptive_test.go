package connector

import (
	"testing"
	"time"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
)

// The flush limits' tests: a pure type, a sequence of observed flushes in,
// the limits out.

var (
	fast = AdaptiveFlushTarget / 10
	slow = AdaptiveFlushTarget + time.Millisecond
)

func TestFlushLimits(t *testing.T) {
	adaptive := config.Batch{}
	for _, tc := range []struct {
		name         string
		batch        config.Batch
		flushes      []flushObservation
		wantEvents   int
		wantInflight int
	}{
		{name: "starts small", batch: adaptive, wantEvents: AdaptiveStartEvents, wantInflight: 1},
		{name: "a full fast batch doubles the size", batch: adaptive,
			flushes:    []flushObservation{{records: 100, full: true, duration: fast}},
			wantEvents: 2 * AdaptiveStartEvents, wantInflight: 1},
		{name: "batches that are not full leave the size alone", batch: adaptive,
			flushes:    []flushObservation{{records: 3, duration: fast}, {records: 7, duration: fast}},
			wantEvents: AdaptiveStartEvents, wantInflight: 1},
		{name: "full fast batches grow the size up to its cap", batch: adaptive,
			flushes:    repeatObs(flushObservation{full: true, duration: fast}, 10),
			wantEvents: AdaptiveMaxEvents, wantInflight: 1},
		{name: "a lane that waited for the limit adds a flush in flight", batch: adaptive,
			flushes:    []flushObservation{{records: 5, waited: true, duration: fast}},
			wantEvents: AdaptiveStartEvents, wantInflight: 2},
		{name: "flushes in flight grow up to their cap", batch: adaptive,
			flushes:    repeatObs(flushObservation{waited: true, duration: fast}, 10),
			wantEvents: AdaptiveStartEvents, wantInflight: AdaptiveMaxInFlight},
		{name: "a round trip over the target at the usual time per record is not a slowdown", batch: adaptive,
			flushes: []flushObservation{{records: 100, duration: 40 * time.Millisecond},
				{records: 200, waited: true, duration: 80 * time.Millisecond}},
			wantEvents: AdaptiveStartEvents, wantInflight: 2},
		{name: "twice the usual time per record within the target is not a slowdown", batch: adaptive,
			flushes: []flushObservation{{records: 100, duration: time.Millisecond},
				{records: 100, duration: 10 * time.Millisecond}},
			wantEvents: AdaptiveStartEvents, wantInflight: 1},
		{name: "over the target and twice the usual time per record is a slowdown", batch: adaptive,
			flushes: append(repeatObs(flushObservation{records: 100, waited: true, duration: 5 * time.Millisecond}, 3),
				flushObservation{records: 100, duration: slow}),
			wantEvents: AdaptiveStartEvents - AdaptiveStartEvents/4, wantInflight: 3},
		{name: "a full batch over the target does not grow, at the usual time per record", batch: adaptive,
			flushes: []flushObservation{{records: 100, duration: 40 * time.Millisecond},
				{records: 100, full: true, duration: slow}},
			wantEvents: AdaptiveStartEvents, wantInflight: 1},
		{name: "a failed flush halves both, never below the minimum", batch: adaptive,
			flushes: append(repeatObs(flushObservation{full: true, waited: true, duration: fast}, 10),
				flushObservation{failed: true}),
			wantEvents: AdaptiveMaxEvents / 2, wantInflight: AdaptiveMaxInFlight / 2},
		{name: "failures shrink to the minimum and one flush", batch: adaptive,
			flushes:    repeatObs(flushObservation{failed: true}, 10),
			wantEvents: AdaptiveMinEvents, wantInflight: 1},
		{name: "a slow round trip takes a quarter and one flush off", batch: adaptive,
			flushes: append(repeatObs(flushObservation{full: true, waited: true, duration: fast}, 10),
				flushObservation{full: true, waited: true, duration: slow}),
			wantEvents: AdaptiveMaxEvents - AdaptiveMaxEvents/4, wantInflight: AdaptiveMaxInFlight - 1},
		{name: "a full batch that came back slowly does not grow", batch: adaptive,
			flushes:    []flushObservation{{full: true, duration: slow}},
			wantEvents: AdaptiveStartEvents - AdaptiveStartEvents/4, wantInflight: 1},
		{name: "configured values never move", batch: config.Batch{MaxEvents: 300, MaxInFlight: 3},
			flushes: append(repeatObs(flushObservation{full: true, waited: true, duration: fast}, 5),
				flushObservation{failed: true}, flushObservation{duration: slow}),
			wantEvents: 300, wantInflight: 3},
		{name: "a configured batch size leaves the flushes in flight adapting", batch: config.Batch{MaxEvents: 300},
			flushes:    repeatObs(flushObservation{full: true, waited: true, duration: fast}, 2),
			wantEvents: 300, wantInflight: 3},
		{name: "configured flushes in flight leave the batch size adapting", batch: config.Batch{MaxInFlight: 2},
			flushes:    repeatObs(flushObservation{full: true, waited: true, duration: fast}, 2),
			wantEvents: 4 * AdaptiveStartEvents, wantInflight: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newFlushLimits(tc.batch)
			for _, o := range tc.flushes {
				l.Observe(o)
			}
			if l.Events() != tc.wantEvents || l.Inflight() != tc.wantInflight {
				t.Errorf("got events=%d inflight=%d, want events=%d inflight=%d",
					l.Events(), l.Inflight(), tc.wantEvents, tc.wantInflight)
			}
		})
	}
}

func TestFlushLimitsObserveReportsChange(t *testing.T) {
	l := newFlushLimits(config.Batch{})
	if l.Observe(flushObservation{records: 1, duration: fast}) {
		t.Error("a small fast flush: got changed, want unchanged")
	}
	if !l.Observe(flushObservation{full: true, duration: fast}) {
		t.Error("a full fast flush: got unchanged, want changed")
	}
	fixed := newFlushLimits(config.Batch{MaxEvents: 10, MaxInFlight: 1})
	if fixed.Observe(flushObservation{failed: true}) {
		t.Error("configured limits: got changed, want unchanged")
	}
}

func repeatObs(o flushObservation, n int) []flushObservation {
	out := make([]flushObservation, n)
	for i := range out {
		out[i] = o
	}
	return out
}

// TestLaneSetInflightLimit: with four lanes and a limit of one, one batch
// is in flight at a time, the others wait (and say so), and the lanes take
// turns.
func TestLaneSetInflightLimit(t *testing.T) {
	b := testBatch
	b.MaxInFlight = 0 // adaptive: AdaptiveMaxInFlight lanes, limit 1 at first
	s := newLaneSet(b)
	if s.Len() != AdaptiveMaxInFlight {
		t.Fatalf("lanes: got %d, want %d", s.Len(), AdaptiveMaxInFlight)
	}
	parts := partitionsOf(t, s)
	for i, p := range parts {
		s.Add(laneTopic, p, laneRecs(p, int64(10*i), 2, 10), t0)
	}
	var order []int
	for range parts {
		got := s.Next(t0)
		if len(got) != 1 {
			t.Fatalf("limit 1: got %d batches handed out, want 1", len(got))
		}
		if !s.TakeWaited() && len(order) < len(parts)-1 {
			t.Errorf("after batch %d: lanes with records waited, TakeWaited said no", len(order))
		}
		if more := s.Next(t0); len(more) != 0 {
			t.Fatalf("with one in flight: got %d more batches, want none", len(more))
		}
		if w := s.Wait(t0); w != time.Second {
			t.Errorf("at the limit: Wait got %s, want 1s (a finished flush wakes the poll)", w)
		}
		order = append(order, got[0].batch.lane.id)
		s.Finished(got[0].batch, written(t0))
	}
	seen := map[int]bool{}
	for _, id := range order {
		seen[id] = true
	}
	if len(seen) != len(parts) {
		t.Errorf("lanes in turn: got order %v, want each of the %d lanes once", order, len(parts))
	}
	if s.TakeWaited() {
		t.Error("TakeWaited: got true after it was taken, want false")
	}

	s.SetLimits(10, 1<<20, 3)
	for i, p := range parts {
		s.Add(laneTopic, p, laneRecs(p, int64(100+10*i), 2, 10), t0)
	}
	if got := s.Next(t0); len(got) != 3 {
		t.Errorf("limit 3: got %d batches handed out, want 3", len(got))
	}
}

// TestLaneSetLimitsFollowEvents: the batch size, the poll limit and the
// records the lanes may hold follow SetLimits.
func TestLaneSetLimitsFollowEvents(t *testing.T) {
	s := newLaneSet(config.Batch{MaxBytes: 1 << 20, Timeout: time.Second, MaxBufferedBytes: 1 << 30})
	s.Add(laneTopic, 0, laneRecs(0, 0, 700, 10), t0)
	if got := len(s.Next(t0)[0].batch.recs); got != AdaptiveStartEvents {
		t.Errorf("first batch: got %d records, want %d", got, AdaptiveStartEvents)
	}
	s.lanes[s.laneOf(laneTopic, 0).id].inflight, s.inflight = nil, 0
	s.SetLimits(400, 1<<20, 2)
	if got := len(s.Next(t0)[0].batch.recs); got != 400 {
		t.Errorf("after SetLimits(400, 2): got %d records, want 400", got)
	}
	if s.pollLimit != 1600 || s.maxRecords != 3200 {
		t.Errorf("SetLimits(400, 2): got poll limit %d, max records %d, want 1600, 3200", s.pollLimit, s.maxRecords)
	}
}

func TestFlushLimitsBytes(t *testing.T) {
	fullBytes := flushObservation{records: 100, fullBytes: true, duration: fast}
	for _, tc := range []struct {
		name    string
		batch   config.Batch
		flushes []flushObservation
		want    int
	}{
		{name: "starts at the smallest", want: AdaptiveMinBytes},
		{name: "a batch full in bytes that came back fast doubles them", flushes: []flushObservation{fullBytes},
			want: 2 * AdaptiveMinBytes},
		{name: "batches full in records leave them alone",
			flushes: []flushObservation{{records: 100, full: true, duration: fast}}, want: AdaptiveMinBytes},
		{name: "up to the cap", flushes: repeatObs(fullBytes, 10), want: AdaptiveMaxBytes},
		{name: "the cap is at most max_buffered_bytes", batch: config.Batch{MaxBufferedBytes: 3 << 20},
			flushes: repeatObs(fullBytes, 10), want: 3 << 20},
		{name: "a failed flush halves them, not below the smallest",
			flushes: append(repeatObs(fullBytes, 10), flushObservation{failed: true}), want: AdaptiveMaxBytes / 2},
		{name: "failures bring them to the smallest",
			flushes: append(repeatObs(fullBytes, 10), repeatObs(flushObservation{failed: true}, 10)...), want: AdaptiveMinBytes},
		{name: "configured, they never move", batch: config.Batch{MaxBytes: 5000},
			flushes: append(repeatObs(fullBytes, 3), flushObservation{failed: true}), want: 5000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newFlushLimits(tc.batch)
			for _, o := range tc.flushes {
				l.Observe(o)
			}
			if l.Bytes() != tc.want {
				t.Errorf("got %d bytes, want %d", l.Bytes(), tc.want)
			}
		})
	}
}
