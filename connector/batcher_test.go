package connector_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafka-redis-connector/kafka-redis-connector/connector"
)

var batcherT0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// sizedRecord returns a record whose RecordSize is size, identified by its
// offset.
func sizedRecord(offset int64, size int) *kgo.Record {
	return &kgo.Record{Topic: "t", Offset: offset, Value: make([]byte, size)}
}

// offsetsOf returns the offsets of recs, to compare batches.
func offsetsOf(recs []*kgo.Record) []int64 {
	out := make([]int64, len(recs))
	for i, r := range recs {
		out[i] = r.Offset
	}
	return out
}

// arrival is one record added to a Batcher: its size and when it arrived,
// relative to batcherT0.
type arrival struct {
	size int
	at   time.Duration
}

func fill(b *connector.Batcher, arrivals []arrival) {
	for i, a := range arrivals {
		b.Add(sizedRecord(int64(i), a.size), batcherT0.Add(a.at))
	}
}

func TestRecordSize(t *testing.T) {
	tests := []struct {
		name string
		rec  *kgo.Record
		want int
	}{
		{"empty", &kgo.Record{}, 0},
		{"value", &kgo.Record{Value: []byte("12345")}, 5},
		{"key and value", &kgo.Record{Key: []byte("ab"), Value: []byte("12345")}, 7},
		{"topic does not count", &kgo.Record{Topic: "a-long-topic-name", Value: []byte("1")}, 1},
		{
			"headers count names and values",
			&kgo.Record{Key: []byte("k"), Value: []byte("v"), Headers: []kgo.RecordHeader{{Key: "abc", Value: []byte("de")}, {Key: "f"}}},
			1 + 1 + 3 + 2 + 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := connector.RecordSize(tt.rec); got != tt.want {
				t.Errorf("RecordSize: got %d, want %d", got, tt.want)
			}
		})
	}
}

func TestBatcherDue(t *testing.T) {
	const timeout = 100 * time.Millisecond
	tests := []struct {
		name       string
		maxEvents  int
		maxBytes   int
		arrivals   []arrival
		now        time.Duration
		wantReason connector.FlushReason
		wantDue    bool
	}{
		{name: "empty", maxEvents: 3, maxBytes: 100, now: time.Hour},
		{
			name: "below every limit", maxEvents: 3, maxBytes: 100,
			arrivals: []arrival{{10, 0}, {10, 0}}, now: timeout - time.Nanosecond,
		},
		{
			name: "max events reached", maxEvents: 3, maxBytes: 100,
			arrivals:   []arrival{{1, 0}, {1, 0}, {1, 0}},
			wantReason: connector.FlushSize, wantDue: true,
		},
		{
			name: "more than max events", maxEvents: 3, maxBytes: 100,
			arrivals:   []arrival{{1, 0}, {1, 0}, {1, 0}, {1, 0}},
			wantReason: connector.FlushSize, wantDue: true,
		},
		{
			name: "max bytes reached exactly", maxEvents: 10, maxBytes: 100,
			arrivals:   []arrival{{60, 0}, {40, 0}},
			wantReason: connector.FlushBytes, wantDue: true,
		},
		{
			name: "one byte below max bytes", maxEvents: 10, maxBytes: 100,
			arrivals: []arrival{{60, 0}, {39, 0}},
		},
		{
			name: "a single oversized record", maxEvents: 10, maxBytes: 100,
			arrivals:   []arrival{{500, 0}},
			wantReason: connector.FlushBytes, wantDue: true,
		},
		{
			name: "size checked before bytes", maxEvents: 2, maxBytes: 10,
			arrivals:   []arrival{{10, 0}, {10, 0}},
			wantReason: connector.FlushSize, wantDue: true,
		},
		{
			name: "just before the timeout", maxEvents: 10, maxBytes: 100,
			arrivals: []arrival{{1, 0}}, now: timeout - time.Nanosecond,
		},
		{
			name: "exactly at the timeout", maxEvents: 10, maxBytes: 100,
			arrivals: []arrival{{1, 0}}, now: timeout,
			wantReason: connector.FlushTime, wantDue: true,
		},
		{
			name: "after the timeout", maxEvents: 10, maxBytes: 100,
			arrivals: []arrival{{1, 0}}, now: time.Minute,
			wantReason: connector.FlushTime, wantDue: true,
		},
		{
			name: "timeout counts from the first record, not the last", maxEvents: 10, maxBytes: 100,
			arrivals: []arrival{{1, 0}, {1, 90 * time.Millisecond}}, now: timeout,
			wantReason: connector.FlushTime, wantDue: true,
		},
		{
			name: "first record arrived late", maxEvents: 10, maxBytes: 100,
			arrivals: []arrival{{1, 50 * time.Millisecond}}, now: timeout,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := connector.NewBatcher(tt.maxEvents, tt.maxBytes, timeout)
			fill(b, tt.arrivals)
			reason, due := b.Due(batcherT0.Add(tt.now))
			if due != tt.wantDue || (due && reason != tt.wantReason) {
				t.Errorf("Due(+%v): got %v, %v; want %v, %v", tt.now, reason, due, tt.wantReason, tt.wantDue)
			}
		})
	}
}

func TestBatcherUntilNext(t *testing.T) {
	const timeout = 100 * time.Millisecond
	tests := []struct {
		name     string
		arrivals []arrival
		now      time.Duration
		want     time.Duration
		wantOK   bool
	}{
		{name: "empty", now: 0},
		{name: "at arrival", arrivals: []arrival{{1, 0}}, now: 0, want: timeout, wantOK: true},
		{name: "part way", arrivals: []arrival{{1, 0}}, now: 30 * time.Millisecond, want: 70 * time.Millisecond, wantOK: true},
		{name: "from the first record", arrivals: []arrival{{1, 10 * time.Millisecond}, {1, 60 * time.Millisecond}}, now: 60 * time.Millisecond, want: 50 * time.Millisecond, wantOK: true},
		{name: "at the timeout", arrivals: []arrival{{1, 0}}, now: timeout, want: 0, wantOK: true},
		{name: "overdue is zero, not negative", arrivals: []arrival{{1, 0}}, now: time.Second, want: 0, wantOK: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := connector.NewBatcher(10, 100, timeout)
			fill(b, tt.arrivals)
			got, ok := b.UntilNext(batcherT0.Add(tt.now))
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("UntilNext(+%v): got %v, %v; want %v, %v", tt.now, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestBatcherFront(t *testing.T) {
	tests := []struct {
		name      string
		maxEvents int
		maxBytes  int
		sizes     []int
		want      []int64 // offsets (indices) of the front batch
	}{
		{"empty", 3, 100, nil, []int64{}},
		{"fewer than max events", 3, 100, []int{1, 1}, []int64{0, 1}},
		{"max events", 3, 100, []int{1, 1, 1, 1, 1}, []int64{0, 1, 2}},
		{"stops before exceeding max bytes", 10, 10, []int{4, 4, 4}, []int64{0, 1}},
		{"max bytes exactly", 10, 10, []int{4, 6, 1}, []int64{0, 1}},
		{"oversized first record alone", 10, 10, []int{50, 1, 1}, []int64{0}},
		{"oversized second record waits", 10, 10, []int{2, 50, 1}, []int64{0}},
		{"zero-size records", 3, 10, []int{0, 0, 0, 0}, []int64{0, 1, 2}},
		{"a small record after a big one is not skipped", 10, 10, []int{6, 6, 1}, []int64{0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := connector.NewBatcher(tt.maxEvents, tt.maxBytes, time.Second)
			for i, s := range tt.sizes {
				b.Add(sizedRecord(int64(i), s), batcherT0)
			}
			got := offsetsOf(b.Front(nil))
			if !slices.Equal(got, tt.want) {
				t.Errorf("Front: got %v, want %v", got, tt.want)
			}
			// Front only looks: the same batch comes back until Remove.
			if again := offsetsOf(b.Front(nil)); !slices.Equal(again, tt.want) {
				t.Errorf("second Front: got %v, want %v", again, tt.want)
			}
			if b.Len() != len(tt.sizes) {
				t.Errorf("Len after Front: got %d, want %d", b.Len(), len(tt.sizes))
			}
		})
	}
}

func TestBatcherRemove(t *testing.T) {
	tests := []struct {
		name      string
		sizes     []int
		remove    int
		wantLen   int
		wantBytes int
		wantFront []int64
	}{
		{"nothing", []int{1, 2, 3}, 0, 3, 6, []int64{0, 1, 2}},
		{"the front batch", []int{1, 2, 3, 4, 5}, 3, 2, 9, []int64{3, 4}},
		{"everything", []int{1, 2, 3}, 3, 0, 0, []int64{}},
		{"more than held", []int{1, 2, 3}, 10, 0, 0, []int64{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := connector.NewBatcher(10, 1000, time.Second)
			for i, s := range tt.sizes {
				b.Add(sizedRecord(int64(i), s), batcherT0)
			}
			b.Remove(tt.remove)
			if b.Len() != tt.wantLen || b.Bytes() != tt.wantBytes {
				t.Errorf("after Remove(%d): got Len %d, Bytes %d; want %d, %d", tt.remove, b.Len(), b.Bytes(), tt.wantLen, tt.wantBytes)
			}
			if got := offsetsOf(b.Front(nil)); !slices.Equal(got, tt.wantFront) {
				t.Errorf("Front after Remove(%d): got %v, want %v", tt.remove, got, tt.wantFront)
			}
			if _, ok := b.UntilNext(batcherT0); ok != (tt.wantLen > 0) {
				t.Errorf("UntilNext ok after Remove(%d): got %v, want %v", tt.remove, ok, tt.wantLen > 0)
			}
		})
	}
}

// After the front batch is removed, the next batch's timeout runs from its
// own first record's arrival, not from the removed batch's.
func TestBatcherTimeoutRestartsAfterRemove(t *testing.T) {
	const timeout = 100 * time.Millisecond
	ms := time.Millisecond
	b := connector.NewBatcher(2, 1000, timeout)
	fill(b, []arrival{{1, 0}, {1, 50 * ms}, {1, 80 * ms}})
	if got := offsetsOf(b.Front(nil)); !slices.Equal(got, []int64{0, 1}) {
		t.Fatalf("Front: got %v, want [0 1]", got)
	}
	b.Remove(2)
	steps := []struct {
		now      time.Duration
		wantDue  bool
		wantWait time.Duration
		wantAge  time.Duration
	}{
		{now: 100 * ms, wantWait: 80 * ms, wantAge: 20 * ms},
		{now: 150 * ms, wantWait: 30 * ms, wantAge: 70 * ms},
		{now: 180*ms - 1, wantWait: 1, wantAge: 100*ms - 1},
		{now: 180 * ms, wantDue: true, wantWait: 0, wantAge: 100 * ms},
	}
	for _, s := range steps {
		t.Run(fmt.Sprintf("at +%v", s.now), func(t *testing.T) {
			now := batcherT0.Add(s.now)
			reason, due := b.Due(now)
			if due != s.wantDue || (due && reason != connector.FlushTime) {
				t.Errorf("Due: got %v, %v; want %v, %v", reason, due, connector.FlushTime, s.wantDue)
			}
			if wait, _ := b.UntilNext(now); wait != s.wantWait {
				t.Errorf("UntilNext: got %v, want %v", wait, s.wantWait)
			}
			if age := b.FrontAge(now); age != s.wantAge {
				t.Errorf("FrontAge: got %v, want %v", age, s.wantAge)
			}
		})
	}
}

func TestBatcherRemoveIf(t *testing.T) {
	const timeout = 100 * time.Millisecond
	ms := time.Millisecond
	// Records of partitions 0, 1 and 2, sizes 1..6, arriving 10 ms apart.
	parts := []int32{1, 0, 1, 2, 0, 1}
	tests := []struct {
		name        string
		removeFirst int // records removed with Remove before RemoveIf
		drop        func(*kgo.Record) bool
		wantDropped int
		wantFront   []int64
		wantBytes   int
		wantWait    time.Duration // UntilNext at batcherT0
	}{
		{
			name: "nothing", drop: func(*kgo.Record) bool { return false },
			wantFront: []int64{0, 1, 2, 3, 4, 5}, wantBytes: 21, wantWait: timeout,
		},
		{
			name: "one partition, keeping order", drop: func(r *kgo.Record) bool { return r.Partition == 1 },
			wantDropped: 3, wantFront: []int64{1, 3, 4}, wantBytes: 2 + 4 + 5,
			wantWait: timeout + 10*ms, // the front is now the record that arrived at +10ms
		},
		{
			name: "everything", drop: func(*kgo.Record) bool { return true },
			wantDropped: 6, wantFront: []int64{}, wantBytes: 0,
		},
		{
			name: "after a Remove", removeFirst: 2, drop: func(r *kgo.Record) bool { return r.Partition == 0 },
			wantDropped: 1, wantFront: []int64{2, 3, 5}, wantBytes: 3 + 4 + 6, wantWait: timeout + 20*ms,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := connector.NewBatcher(10, 1000, timeout)
			for i, p := range parts {
				r := sizedRecord(int64(i), i+1)
				r.Partition = p
				b.Add(r, batcherT0.Add(time.Duration(i)*10*ms))
			}
			b.Remove(tt.removeFirst)
			if got := b.RemoveIf(tt.drop); got != tt.wantDropped {
				t.Errorf("RemoveIf: got %d dropped, want %d", got, tt.wantDropped)
			}
			if got := offsetsOf(b.Front(nil)); !slices.Equal(got, tt.wantFront) {
				t.Errorf("Front: got %v, want %v", got, tt.wantFront)
			}
			if b.Len() != len(tt.wantFront) || b.Bytes() != tt.wantBytes {
				t.Errorf("got Len %d, Bytes %d; want %d, %d", b.Len(), b.Bytes(), len(tt.wantFront), tt.wantBytes)
			}
			wait, ok := b.UntilNext(batcherT0)
			if ok != (len(tt.wantFront) > 0) || wait != tt.wantWait {
				t.Errorf("UntilNext: got %v, %v; want %v, %v", wait, ok, tt.wantWait, len(tt.wantFront) > 0)
			}
			// The batcher keeps working after RemoveIf.
			b.Add(sizedRecord(99, 7), batcherT0)
			want := append(slices.Clone(tt.wantFront), 99)
			if got := offsetsOf(b.Front(nil)); !slices.Equal(got, want) || b.Bytes() != tt.wantBytes+7 {
				t.Errorf("after Add: got Front %v, Bytes %d; want %v, %d", got, b.Bytes(), want, tt.wantBytes+7)
			}
		})
	}
}

// Many batches through one Batcher, adding while removing, so its storage is
// compacted along the way: records come out once each, in order, and the
// byte count never drifts.
func TestBatcherLongRun(t *testing.T) {
	b := connector.NewBatcher(7, 1000, time.Second)
	var next, want int64
	add := func(n int) {
		for range n {
			b.Add(sizedRecord(next, int(next%5)), batcherT0)
			next++
		}
	}
	add(2000)
	for round := 0; b.Len() > 0; round++ {
		if round < 1000 {
			add(3)
		}
		batch := b.Front(nil)
		if len(batch) != min(7, b.Len()) {
			t.Fatalf("round %d: got a batch of %d, want %d", round, len(batch), min(7, b.Len()))
		}
		for _, r := range batch {
			if r.Offset != want {
				t.Fatalf("round %d: got offset %d, want %d", round, r.Offset, want)
			}
			want++
		}
		b.Remove(len(batch))
		wantBytes := 0
		for o := want; o < next; o++ {
			wantBytes += int(o % 5)
		}
		if b.Bytes() != wantBytes {
			t.Fatalf("round %d: got Bytes %d, want %d", round, b.Bytes(), wantBytes)
		}
	}
	if want != next {
		t.Errorf("got %d records out, want %d", want, next)
	}
}

func TestFlushReasonString(t *testing.T) {
	tests := []struct {
		reason connector.FlushReason
		want   string
	}{
		{connector.FlushSize, "size"},
		{connector.FlushBytes, "bytes"},
		{connector.FlushTime, "time"},
		{connector.FlushRebalance, "rebalance"},
		{connector.FlushShutdown, "shutdown"},
		{connector.FlushReason(200), "unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.reason.String(); got != tt.want {
				t.Errorf("FlushReason(%d).String(): got %q, want %q", uint8(tt.reason), got, tt.want)
			}
		})
	}
}
