package loadgen

import (
	"math/bits"
	"time"
)

// Histogram counts durations in log-linear buckets of microseconds (32
// sub-buckets per power of two, about 3% precision), HDR style: percentiles
// come from the counts, never from averages. It mirrors the connector's
// latency histogram, whose recorder is internal to package connector. The
// exact maximum is kept aside. Not safe for concurrent use.
type Histogram struct {
	counts [histLinear + histPowers*histSub]uint64
	total  uint64
	max    time.Duration
}

const (
	histLinear = 64 // exact buckets for 0..63 µs
	histSub    = 32
	histPowers = 40
)

func histBucket(us uint64) int {
	if us < histLinear {
		return int(us)
	}
	e := bits.Len64(us) - 6
	i := histLinear + (e-1)*histSub + int(us>>uint(e)-histSub)
	return min(i, histLinear+histPowers*histSub-1)
}

// histValue is the midpoint of bucket i.
func histValue(i int) time.Duration {
	if i < histLinear {
		return time.Duration(i) * time.Microsecond
	}
	e := uint((i-histLinear)/histSub + 1)
	k := uint64((i - histLinear) % histSub)
	lo := (histSub + k) << e
	hi := (histSub+1+k)<<e - 1
	return time.Duration((lo+hi)/2) * time.Microsecond
}

// Record counts one duration; negative ones count as 0.
func (h *Histogram) Record(d time.Duration) {
	d = max(d, 0)
	h.counts[histBucket(uint64(d/time.Microsecond))]++
	h.total++
	h.max = max(h.max, d)
}

// Count returns how many durations were recorded.
func (h *Histogram) Count() uint64 { return h.total }

// Max returns the largest duration recorded (exact).
func (h *Histogram) Max() time.Duration { return h.max }

// Quantile returns the q-quantile (0..1), 0 when empty.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.total == 0 {
		return 0
	}
	rank := max(uint64(q*float64(h.total)+0.5), 1)
	if rank >= h.total {
		return h.max
	}
	var seen uint64
	for i, n := range h.counts {
		seen += n
		if seen >= rank {
			return min(histValue(i), h.max)
		}
	}
	return h.max
}

// Merge adds the counts of o.
func (h *Histogram) Merge(o *Histogram) {
	for i, n := range o.counts {
		h.counts[i] += n
	}
	h.total += o.total
	h.max = max(h.max, o.max)
}
