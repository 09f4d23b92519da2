package latency

import (
	"testing"
	"time"
)

// The exact maximum: quantiles never report more than the largest duration
// recorded, and the last rank reports it exactly.
func TestHistogramQuantiles(t *testing.T) {
	var h Histogram
	for i := 1; i <= 1000; i++ {
		h.Record(time.Duration(i) * time.Millisecond)
	}
	c := h.Snapshot()
	for _, tc := range []struct {
		q    float64
		want time.Duration
	}{
		{0.50, 500 * time.Millisecond},
		{0.95, 950 * time.Millisecond},
		{0.99, 990 * time.Millisecond},
		{1, 1000 * time.Millisecond},
	} {
		got := c.Quantile(tc.q)
		if d := got - tc.want; d < -tc.want/30 || d > tc.want/30 {
			t.Errorf("q%.2f: got %s, want %s within 3%%", tc.q, got, tc.want)
		}
	}
	if c.Count() != 1000 || c.Max() != time.Second {
		t.Fatalf("count, max: got %d, %s, want 1000, 1s", c.Count(), c.Max())
	}
}

func TestHistogramEdges(t *testing.T) {
	var empty Histogram
	if got := empty.Snapshot().Quantile(0.99); got != 0 {
		t.Fatalf("empty: got %s, want 0", got)
	}
	var h Histogram
	h.Record(-time.Second) // clock skew counts as zero
	h.Record(10 * time.Microsecond)
	c := h.Snapshot()
	if got := c.Quantile(0.5); got != 0 {
		t.Fatalf("negative: got %s, want 0", got)
	}
	if got := c.Quantile(1); got != 10*time.Microsecond {
		t.Fatalf("exact microseconds: got %s, want 10µs", got)
	}
	var o Histogram
	o.Record(time.Hour)
	c = c.Add(o.Snapshot())
	if c.Count() != 3 || c.Max() != time.Hour {
		t.Fatalf("merge: got count %d max %s, want 3, 1h", c.Count(), c.Max())
	}
	if got := c.Quantile(1); got != time.Hour {
		t.Fatalf("quantile capped at the exact max: got %s, want 1h", got)
	}
}
