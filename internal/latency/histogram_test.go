package latency

import (
	"math"
	"sync"
	"testing"
	"time"
)

// near reports whether got is within 4% of want.
func near(got, want time.Duration) bool {
	return math.Abs(float64(got-want)) <= 0.04*float64(want)
}

func TestBucketRoundTrip(t *testing.T) {
	// Every microsecond below 64 is its own bucket; above, the powers of two
	// and their neighbours are where the bucket arithmetic changes.
	var values []uint64
	for us := uint64(1); us <= 200; us++ {
		values = append(values, us)
	}
	for e := 7; e <= 30; e++ {
		p := uint64(1) << e
		values = append(values, p-1, p, p+1, p+p/2)
	}
	for us := 200.0; us <= float64(10*time.Minute/time.Microsecond); us *= 1.013 {
		values = append(values, uint64(us))
	}
	values = append(values, uint64(time.Second/time.Microsecond), uint64(10*time.Minute/time.Microsecond))
	for _, us := range values {
		want := time.Duration(us) * time.Microsecond
		got := bucketValue(bucket(us))
		if !near(got, want) {
			t.Errorf("bucketValue(bucket(%dµs)): got %v, want %v ±4%%", us, got, want)
		}
		if us < 64 && got != want {
			t.Errorf("bucketValue(bucket(%dµs)): got %v, want exactly %v", us, got, want)
		}
	}
}

// Buckets are ordered: a longer duration never lands in an earlier bucket,
// and each bucket's representative value falls in that bucket.
func TestBucketOrder(t *testing.T) {
	var h Histogram
	last := len(h.counts) - 1
	prev := -1
	for us := uint64(0); us < 1<<40; us = us + 1 + us/50 {
		i := bucket(us)
		if i < prev {
			t.Fatalf("bucket(%d): got %d, want >= %d", us, i, prev)
		}
		if i < 0 || i > last {
			t.Fatalf("bucket(%d): got %d, want 0..%d", us, i, last)
		}
		prev = i
	}
	for i := 0; i < last; i++ {
		v := bucketValue(i)
		if got := bucket(uint64(v / time.Microsecond)); got != i {
			t.Errorf("bucket(bucketValue(%d) = %v): got %d, want %d", i, v, got, i)
		}
		if next := bucketValue(i + 1); next <= v {
			t.Errorf("bucketValue(%d): got %v, want more than bucket %d's %v", i+1, next, i, v)
		}
	}
	if got := bucket(math.MaxUint64); got != last {
		t.Errorf("bucket(MaxUint64): got %d, want the last bucket %d", got, last)
	}
}

func histogramOf(samples map[time.Duration]int) *Histogram {
	h := &Histogram{}
	for d, n := range samples {
		for range n {
			h.Record(d)
		}
	}
	return h
}

func TestCountsQuantile(t *testing.T) {
	ms := time.Millisecond
	uniform := map[time.Duration]int{}
	for i := 1; i <= 1000; i++ {
		uniform[time.Duration(i)*ms] = 1
	}
	type quantile struct {
		q    float64
		want time.Duration
	}
	tests := []struct {
		name      string
		samples   map[time.Duration]int
		quantiles []quantile
	}{
		{
			name:      "empty",
			quantiles: []quantile{{0, 0}, {0.5, 0}, {1, 0}},
		},
		{
			name:      "one sample",
			samples:   map[time.Duration]int{5 * ms: 1},
			quantiles: []quantile{{0, 5 * ms}, {0.5, 5 * ms}, {0.99, 5 * ms}, {1, 5 * ms}},
		},
		{
			// rank = q*100 rounded half up: p99 is the 99th sample (1ms),
			// p99.9 rounds to the 100th (100ms).
			name:    "99 of 1ms and 1 of 100ms",
			samples: map[time.Duration]int{ms: 99, 100 * ms: 1},
			quantiles: []quantile{
				{0, ms}, {0.5, ms}, {0.95, ms}, {0.99, ms}, {0.999, 100 * ms}, {1, 100 * ms},
			},
		},
		{
			name:    "two equal halves",
			samples: map[time.Duration]int{10 * ms: 50, 20 * ms: 50},
			quantiles: []quantile{
				{0.25, 10 * ms}, {0.5, 10 * ms}, {0.51, 20 * ms}, {0.75, 20 * ms},
			},
		},
		{
			name:    "uniform 1ms to 1s",
			samples: uniform,
			quantiles: []quantile{
				{0.001, ms}, {0.1, 100 * ms}, {0.5, 500 * ms}, {0.9, 900 * ms}, {0.99, 990 * ms}, {1, time.Second},
			},
		},
		{
			name:      "sub-millisecond",
			samples:   map[time.Duration]int{17 * time.Microsecond: 3, 250 * time.Microsecond: 1},
			quantiles: []quantile{{0.5, 17 * time.Microsecond}, {0.75, 17 * time.Microsecond}, {1, 250 * time.Microsecond}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := histogramOf(tt.samples).Snapshot()
			for _, q := range tt.quantiles {
				if got := c.Quantile(q.q); !near(got, q.want) {
					t.Errorf("Quantile(%v): got %v, want %v ±4%%", q.q, got, q.want)
				}
			}
		})
	}
}

func TestCountsMeanAndCount(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name      string
		samples   map[time.Duration]int
		wantCount uint64
		wantMean  time.Duration
	}{
		{"empty", nil, 0, 0},
		{"one sample", map[time.Duration]int{3 * ms: 1}, 1, 3 * ms},
		{"99 of 1ms and 1 of 100ms", map[time.Duration]int{ms: 99, 100 * ms: 1}, 100, 1990 * time.Microsecond},
		{"two values", map[time.Duration]int{10 * ms: 3, 30 * ms: 1}, 4, 15 * ms},
		{"minutes", map[time.Duration]int{time.Minute: 1, 3 * time.Minute: 1}, 2, 2 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := histogramOf(tt.samples).Snapshot()
			if got := c.Count(); got != tt.wantCount {
				t.Errorf("Count: got %d, want %d", got, tt.wantCount)
			}
			if got := c.Mean(); !near(got, tt.wantMean) {
				t.Errorf("Mean: got %v, want %v ±4%%", got, tt.wantMean)
			}
		})
	}
}

func TestRecordOutOfRange(t *testing.T) {
	tests := []struct {
		name string
		d    time.Duration
		want time.Duration // what every quantile reports for this one sample
	}{
		{"negative counts as zero", -time.Second, 0},
		{"zero", 0, 0},
		{"below a microsecond", 999 * time.Nanosecond, 0},
		{"far beyond the last bucket", time.Duration(math.MaxInt64), bucketValue(len(Histogram{}.counts) - 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h Histogram
			h.Record(tt.d)
			c := h.Snapshot()
			if got := c.Count(); got != 1 {
				t.Fatalf("Count: got %d, want 1", got)
			}
			if got := c.Quantile(0.5); got != tt.want {
				t.Errorf("Quantile(0.5): got %v, want %v", got, tt.want)
			}
		})
	}
}

// Sub gives the distribution of one window: what was recorded between two
// snapshots, nothing before.
func TestCountsSub(t *testing.T) {
	ms := time.Millisecond
	var h Histogram
	for range 1000 {
		h.Record(100 * ms)
	}
	before := h.Snapshot()
	for range 10 {
		h.Record(2 * ms)
	}
	h.Record(4 * ms)
	after := h.Snapshot()

	tests := []struct {
		name      string
		c         Counts
		wantCount uint64
		wantP50   time.Duration
		wantP100  time.Duration
	}{
		{"window", after.Sub(before), 11, 2 * ms, 4 * ms},
		{"all since the empty snapshot", after.Sub(Counts{}), 1011, 100 * ms, 100 * ms},
		{"same snapshot", after.Sub(after), 0, 0, 0},
		{"whole history", before.Sub(Counts{}), 1000, 100 * ms, 100 * ms},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.c.Count(); got != tt.wantCount {
				t.Errorf("Count: got %d, want %d", got, tt.wantCount)
			}
			if got := tt.c.Quantile(0.5); !near(got, tt.wantP50) {
				t.Errorf("Quantile(0.5): got %v, want %v ±4%%", got, tt.wantP50)
			}
			if got := tt.c.Quantile(1); !near(got, tt.wantP100) {
				t.Errorf("Quantile(1): got %v, want %v ±4%%", got, tt.wantP100)
			}
		})
	}
	if got := before.Count(); got != 1000 {
		t.Errorf("Sub changed its operand: got Count %d, want 1000", got)
	}
}

func TestHistogramConcurrentRecord(t *testing.T) {
	var h Histogram
	var wg sync.WaitGroup
	const workers, each = 8, 500
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				h.Record(time.Duration(w*each+i) * time.Microsecond)
			}
		}()
	}
	wg.Wait()
	if got := h.Snapshot().Count(); got != workers*each {
		t.Errorf("Count: got %d, want %d", got, workers*each)
	}
	if got, want := h.Snapshot().Quantile(1), bucketValue(bucket(workers*each-1)); got != want {
		t.Errorf("Quantile(1): got %v, want %v", got, want)
	}
}

// After Sub the window's maximum is its highest bucket's value, capped by
// the whole maximum; without a subtraction it stays exact.
func TestCountsSubMax(t *testing.T) {
	ms := time.Millisecond
	var h Histogram
	h.Record(100 * ms)
	before := h.Snapshot()
	h.Record(2 * ms)
	h.Record(4100 * time.Microsecond)
	after := h.Snapshot()
	tests := []struct {
		name  string
		c     Counts
		exact bool
		want  time.Duration
	}{
		{"window", after.Sub(before), false, 4100 * time.Microsecond},
		{"since the empty snapshot", after.Sub(Counts{}), true, 100 * ms},
		{"same snapshot", after.Sub(after), true, 0},
		{"zero value", Counts{}, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.c.Max()
			if tt.exact && got != tt.want || !tt.exact && !near(got, tt.want) {
				t.Errorf("Max: got %v, want %v (exact %v)", got, tt.want, tt.exact)
			}
		})
	}
}

func BenchmarkRecord(b *testing.B) {
	var h Histogram
	b.RunParallel(func(pb *testing.PB) {
		d := time.Duration(0)
		for pb.Next() {
			h.Record(d)
			d = (d + 7919*time.Microsecond) % time.Second
		}
	})
}
