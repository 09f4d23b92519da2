package connector_test

import (
	"maps"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafka-redis-connector/kafka-redis-connector/connector"
)

// trackedRecord returns a record of topic t.
func trackedRecord(partition int32, offset int64, epoch int32) *kgo.Record {
	return &kgo.Record{Topic: "t", Partition: partition, Offset: offset, LeaderEpoch: epoch}
}

type commitMap = map[string]map[int32]kgo.EpochOffset

func equalCommits(a, b commitMap) bool {
	return maps.EqualFunc(a, b, func(x, y map[int32]kgo.EpochOffset) bool { return maps.Equal(x, y) })
}

func at(offset int64, epoch int32) kgo.EpochOffset {
	return kgo.EpochOffset{Epoch: epoch, Offset: offset}
}

func TestOffsetTrackerCommittable(t *testing.T) {
	type op struct {
		done      bool // Done, else Track
		partition int32
		offset    int64
		epoch     int32
	}
	track := func(p int32, o int64, e int32) op { return op{false, p, o, e} }
	done := func(p int32, o int64) op { return op{done: true, partition: p, offset: o} }
	tests := []struct {
		name string
		ops  []op
		want commitMap // nil: nothing committable
	}{
		{name: "nothing tracked"},
		{name: "tracked, none done", ops: []op{track(0, 0, 1), track(0, 1, 1)}},
		{
			name: "all done in order",
			ops:  []op{track(0, 0, 3), track(0, 1, 3), track(0, 2, 3), done(0, 0), done(0, 1), done(0, 2)},
			want: commitMap{"t": {0: at(3, 3)}},
		},
		{
			name: "a done prefix",
			ops:  []op{track(0, 0, 1), track(0, 1, 1), track(0, 2, 1), done(0, 0), done(0, 1)},
			want: commitMap{"t": {0: at(2, 1)}},
		},
		{
			name: "later record done first does not advance",
			ops:  []op{track(0, 0, 1), track(0, 1, 1), track(0, 2, 1), done(0, 2)},
		},
		{
			name: "out of order stops at the first not done",
			ops:  []op{track(0, 0, 1), track(0, 1, 1), track(0, 2, 1), done(0, 2), done(0, 0)},
			want: commitMap{"t": {0: at(1, 1)}},
		},
		{
			name: "out of order catches up",
			ops:  []op{track(0, 0, 1), track(0, 1, 1), track(0, 2, 1), done(0, 2), done(0, 1), done(0, 0)},
			want: commitMap{"t": {0: at(3, 1)}},
		},
		{
			name: "epoch of the last done record",
			ops:  []op{track(0, 0, 4), track(0, 1, 5), track(0, 2, 6), done(0, 0), done(0, 1)},
			want: commitMap{"t": {0: at(2, 5)}},
		},
		{
			name: "offsets with gaps",
			ops:  []op{track(0, 10, 1), track(0, 13, 1), track(0, 20, 1), done(0, 10), done(0, 13)},
			want: commitMap{"t": {0: at(14, 1)}},
		},
		{
			name: "partitions independent",
			ops: []op{
				track(0, 0, 1), track(1, 5, 2), track(0, 1, 1), track(1, 6, 2), track(2, 0, 1),
				done(1, 5), done(1, 6), done(0, 1),
			},
			want: commitMap{"t": {1: at(7, 2)}},
		},
		{
			name: "done for an untracked offset is ignored",
			ops:  []op{track(0, 0, 1), track(0, 1, 1), done(0, 5), done(0, 0)},
			want: commitMap{"t": {0: at(1, 1)}},
		},
		{
			name: "done for an untracked partition is ignored",
			ops:  []op{track(0, 0, 1), done(9, 0)},
		},
		{
			name: "done twice",
			ops:  []op{track(0, 0, 1), track(0, 1, 1), done(0, 0), done(0, 0)},
			want: commitMap{"t": {0: at(1, 1)}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := connector.NewOffsetTracker()
			for _, o := range tt.ops {
				r := trackedRecord(o.partition, o.offset, o.epoch)
				if o.done {
					tr.Done(r)
				} else {
					tr.Track(r)
				}
			}
			got := tr.Committable()
			if tt.want == nil && got != nil {
				t.Fatalf("Committable: got %v, want nil", got)
			}
			if !equalCommits(got, tt.want) {
				t.Errorf("Committable: got %v, want %v", got, tt.want)
			}
			for _, ps := range tt.want {
				for p, eo := range ps {
					if c := tr.CommittedOffset("t", p); c != eo.Offset {
						t.Errorf("CommittedOffset(t, %d): got %d, want %d", p, c, eo.Offset)
					}
				}
			}
			if again := tr.Committable(); again != nil {
				t.Errorf("second Committable: got %v, want nil", again)
			}
		})
	}
}

// Committable hands out only what moved since the previous call.
func TestOffsetTrackerCommittableReportsChangesOnly(t *testing.T) {
	tr := connector.NewOffsetTracker()
	for o := range int64(4) {
		tr.Track(trackedRecord(0, o, 1))
		tr.Track(trackedRecord(1, o, 1))
		tr.Track(&kgo.Record{Topic: "u", Partition: 0, Offset: o, LeaderEpoch: 2})
	}
	steps := []struct {
		name string
		done []*kgo.Record
		want commitMap
	}{
		{"first partition", []*kgo.Record{trackedRecord(0, 0, 1)}, commitMap{"t": {0: at(1, 1)}}},
		{"nothing new", nil, nil},
		{"second partition only", []*kgo.Record{trackedRecord(1, 0, 1), trackedRecord(1, 1, 1)}, commitMap{"t": {1: at(2, 1)}}},
		{"blocked record changes nothing", []*kgo.Record{trackedRecord(0, 2, 1)}, nil},
		{
			"two topics at once",
			[]*kgo.Record{trackedRecord(0, 1, 1), {Topic: "u", Partition: 0, Offset: 0}},
			commitMap{"t": {0: at(3, 1)}, "u": {0: at(1, 2)}},
		},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			for _, r := range s.done {
				tr.Done(r)
			}
			got := tr.Committable()
			if (s.want == nil && got != nil) || !equalCommits(got, s.want) {
				t.Errorf("Committable: got %v, want %v", got, s.want)
			}
		})
	}
}

func TestOffsetTrackerUnreport(t *testing.T) {
	tests := []struct {
		name     string
		unreport commitMap
		want     commitMap
	}{
		{"the handed-out offsets", commitMap{"t": {0: at(2, 1), 1: at(1, 1)}}, commitMap{"t": {0: at(2, 1), 1: at(1, 1)}}},
		{"one partition", commitMap{"t": {1: at(1, 1)}}, commitMap{"t": {1: at(1, 1)}}},
		{"a stale offset changes nothing", commitMap{"t": {0: at(1, 1)}}, nil},
		{"an unknown partition changes nothing", commitMap{"t": {7: at(1, 1)}, "x": {0: at(1, 1)}}, nil},
		{"nil", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := connector.NewOffsetTracker()
			for _, r := range []*kgo.Record{trackedRecord(0, 0, 1), trackedRecord(0, 1, 1), trackedRecord(1, 0, 1)} {
				tr.Track(r)
				tr.Done(r)
			}
			if got, want := tr.Committable(), (commitMap{"t": {0: at(2, 1), 1: at(1, 1)}}); !equalCommits(got, want) {
				t.Fatalf("Committable: got %v, want %v", got, want)
			}
			tr.Unreport(tt.unreport)
			got := tr.Committable()
			if (tt.want == nil && got != nil) || !equalCommits(got, tt.want) {
				t.Errorf("Committable after Unreport: got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestOffsetTrackerResetReported(t *testing.T) {
	tr := connector.NewOffsetTracker()
	for _, r := range []*kgo.Record{trackedRecord(0, 0, 1), trackedRecord(1, 0, 1), trackedRecord(1, 1, 1)} {
		tr.Track(r)
	}
	tr.Done(trackedRecord(0, 0, 1))
	tr.Done(trackedRecord(1, 0, 1))
	want := commitMap{"t": {0: at(1, 1), 1: at(1, 1)}}
	if got := tr.Committable(); !equalCommits(got, want) {
		t.Fatalf("Committable: got %v, want %v", got, want)
	}
	tr.ResetReported()
	if got := tr.Committable(); !equalCommits(got, want) {
		t.Errorf("Committable after ResetReported: got %v, want %v", got, want)
	}
	if got := tr.Committable(); got != nil {
		t.Errorf("Committable again: got %v, want nil", got)
	}
	tr.Track(trackedRecord(2, 0, 1)) // nothing done: not committable even after a reset
	tr.ResetReported()
	if got := tr.Committable(); !equalCommits(got, want) {
		t.Errorf("Committable after a second ResetReported: got %v, want %v", got, want)
	}
}

func TestOffsetTrackerForget(t *testing.T) {
	tr := connector.NewOffsetTracker()
	for o := range int64(3) {
		tr.Track(trackedRecord(0, o, 1))
		tr.Track(trackedRecord(1, o, 1))
	}
	tr.Done(trackedRecord(0, 0, 1))
	tr.Forget(map[string][]int32{"t": {0}, "unknown": {3}})

	if got := tr.Pending(); got != 3 {
		t.Errorf("Pending after Forget: got %d, want 3", got)
	}
	if got := tr.CommittedOffset("t", 0); got != -1 {
		t.Errorf("CommittedOffset of a forgotten partition: got %d, want -1", got)
	}
	tr.Done(trackedRecord(0, 1, 1)) // a write finishing after the revoke
	tr.Done(trackedRecord(1, 0, 1))
	want := commitMap{"t": {1: at(1, 1)}}
	if got := tr.Committable(); !equalCommits(got, want) {
		t.Errorf("Committable: got %v, want %v", got, want)
	}
	if got := tr.Pending(); got != 2 {
		t.Errorf("Pending: got %d, want 2", got)
	}

	// Assigned again later, the partition starts afresh.
	tr.Track(trackedRecord(0, 5, 2))
	tr.Done(trackedRecord(0, 5, 2))
	if got, want := tr.Committable(), (commitMap{"t": {0: at(6, 2)}}); !equalCommits(got, want) {
		t.Errorf("Committable after re-assignment: got %v, want %v", got, want)
	}
}

// TestOffsetTrackerForgetThenTrack tracks a partition again right after
// forgetting it, with nothing else in between: the new records start a
// fresh state that Committable reports, not the forgotten one's.
func TestOffsetTrackerForgetThenTrack(t *testing.T) {
	tr := connector.NewOffsetTracker()
	tr.Track(trackedRecord(0, 0, 1))
	tr.Track(trackedRecord(0, 1, 1))
	tr.Forget(map[string][]int32{"t": {0}})
	tr.Done(trackedRecord(0, 0, 1)) // finished after the revoke: ignored
	if got := tr.Committable(); got != nil {
		t.Errorf("Committable after Forget: got %v, want nil", got)
	}
	tr.Track(trackedRecord(0, 7, 2))
	tr.Done(trackedRecord(0, 7, 2))
	if got, want := tr.Committable(), (commitMap{"t": {0: at(8, 2)}}); !equalCommits(got, want) {
		t.Errorf("Committable after tracking again: got %v, want %v", got, want)
	}
	if got := tr.Pending(); got != 0 {
		t.Errorf("Pending: got %d, want 0", got)
	}
}

func TestOffsetTrackerPendingAndCommittedOffset(t *testing.T) {
	tr := connector.NewOffsetTracker()
	if got := tr.Pending(); got != 0 {
		t.Errorf("Pending of a new tracker: got %d, want 0", got)
	}
	if got := tr.CommittedOffset("t", 0); got != -1 {
		t.Errorf("CommittedOffset of an unknown partition: got %d, want -1", got)
	}
	for o := range int64(5) {
		tr.Track(trackedRecord(0, o, 1))
	}
	tr.Track(trackedRecord(1, 100, 1))
	steps := []struct {
		done        *kgo.Record
		wantPending int
		wantP0      int64
	}{
		{trackedRecord(0, 0, 1), 5, 1},
		{trackedRecord(1, 100, 1), 4, 1},
		{trackedRecord(0, 1, 1), 3, 2},
		{trackedRecord(0, 2, 1), 2, 3},
		{trackedRecord(0, 3, 1), 1, 4},
		{trackedRecord(0, 4, 1), 0, 5},
	}
	for _, s := range steps {
		tr.Done(s.done)
		if got := tr.Pending(); got != s.wantPending {
			t.Errorf("after Done(%d@%d): Pending got %d, want %d", s.done.Partition, s.done.Offset, got, s.wantPending)
		}
		if got := tr.CommittedOffset("t", 0); got != s.wantP0 {
			t.Errorf("after Done(%d@%d): CommittedOffset(t, 0) got %d, want %d", s.done.Partition, s.done.Offset, got, s.wantP0)
		}
	}
	if got := tr.CommittedOffset("t", 1); got != 101 {
		t.Errorf("CommittedOffset(t, 1): got %d, want 101", got)
	}
	// Nothing pending does not forget the committed offset.
	tr.Track(trackedRecord(0, 5, 1))
	if got := tr.CommittedOffset("t", 0); got != 5 {
		t.Errorf("CommittedOffset(t, 0) after a new Track: got %d, want 5", got)
	}
}

// Thousands of records with a blocked head: the tracker's storage is
// compacted along the way without losing track of what is done.
func TestOffsetTrackerLongRun(t *testing.T) {
	const n = 3000
	tr := connector.NewOffsetTracker()
	for o := range int64(n) {
		tr.Track(trackedRecord(0, o, 1))
	}
	tr.Done(trackedRecord(0, n-1, 1)) // done early, blocked until the rest are
	for o := range int64(n - 1) {
		tr.Done(trackedRecord(0, o, 1))
		want := o + 1
		if o == n-2 {
			want = n // the early done record joins the prefix
		}
		if got := tr.CommittedOffset("t", 0); got != want {
			t.Fatalf("after Done(%d): CommittedOffset got %d, want %d", o, got, want)
		}
		if o == n/2 {
			tr.Track(trackedRecord(0, n, 1)) // tracking continues during compaction
		}
	}
	if got := tr.CommittedOffset("t", 0); got != n {
		t.Errorf("CommittedOffset: got %d, want %d", got, n)
	}
	if got := tr.Pending(); got != 1 {
		t.Errorf("Pending: got %d, want 1", got)
	}
	tr.Done(trackedRecord(0, n, 1))
	if got, want := tr.Committable(), (commitMap{"t": {0: at(n+1, 1)}}); !equalCommits(got, want) {
		t.Errorf("Committable: got %v, want %v", got, want)
	}
}

// Uncommitted counts from the last acknowledged commit: records written but
// not committed are left, too (the shutdown report must not say 16 when 15
// of them were written, nor 1 when 16 will be read again).
func TestOffsetTrackerUncommitted(t *testing.T) {
	tests := []struct {
		name  string
		track int64 // offsets 10..10+track-1 of partition 0
		done  int64 // the first done of them
		ack   bool  // Committable after done, then Acked
		more  int64 // done after the ack
		want  []connector.UncommittedRange
	}{
		{name: "nothing done", track: 16, want: []connector.UncommittedRange{{Topic: "t", Partition: 0, From: 10, Count: 16}}},
		{name: "done, never committed", track: 16, done: 15, want: []connector.UncommittedRange{{Topic: "t", Partition: 0, From: 10, Count: 16}}},
		{name: "done and acknowledged", track: 16, done: 15, ack: true, want: []connector.UncommittedRange{{Topic: "t", Partition: 0, From: 25, Count: 1}}},
		{name: "done after the acknowledged commit", track: 16, done: 5, ack: true, more: 10, want: []connector.UncommittedRange{{Topic: "t", Partition: 0, From: 15, Count: 11}}},
		{name: "everything acknowledged", track: 16, done: 16, ack: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := connector.NewOffsetTracker()
			for o := int64(10); o < 10+tt.track; o++ {
				tr.Track(trackedRecord(0, o, 1))
			}
			for o := int64(10); o < 10+tt.done; o++ {
				tr.Done(trackedRecord(0, o, 1))
			}
			if tt.ack {
				tr.Acked(tr.Committable())
			}
			for o := 10 + tt.done; o < 10+tt.done+tt.more; o++ {
				tr.Done(trackedRecord(0, o, 1))
			}
			got := tr.Uncommitted()
			if len(got) != len(tt.want) || (len(got) > 0 && got[0] != tt.want[0]) {
				t.Errorf("Uncommitted: got %v, want %v", got, tt.want)
			}
		})
	}
}

// BenchmarkOffsetTracker is the tracker's share of the poll loop per
// record: 1000 polled records in runs of 125 per partition, as a fetch
// hands them out, tracked, then done in the same order, then the commit.
func BenchmarkOffsetTracker(b *testing.B) {
	recs := make([]*kgo.Record, 1000)
	for i := range recs {
		recs[i] = &kgo.Record{Topic: "bench-cfj5cah3", Partition: int32(i / 125)}
	}
	tr := connector.NewOffsetTracker()
	next := make([]int64, 8)
	b.ReportAllocs()
	cpu0 := processCPU()
	for b.Loop() {
		for _, r := range recs {
			r.Offset = next[r.Partition]
			next[r.Partition]++
			tr.Track(r)
		}
		for _, r := range recs {
			tr.Done(r)
		}
		_ = tr.Committable()
	}
	n := float64(b.N * len(recs))
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/record")
	if cpu := processCPU() - cpu0; cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/n, "cpu-ns/record")
	}
}
