package connector

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// latencyHistogram counts durations in log-linear buckets of microseconds
// (32 sub-buckets per power of two, about 3% precision), HDR style, so
// percentiles over any window are the difference of two snapshots rather
// than averages of averages. Safe for concurrent use.
type latencyHistogram struct {
	counts [64 + 40*32]atomic.Uint64
}

func latencyBucket(us uint64) int {
	if us < 64 {
		return int(us)
	}
	e := bits.Len64(us) - 6
	i := 64 + (e-1)*32 + int(us>>uint(e)-32)
	if i >= 64+40*32 {
		return 64 + 40*32 - 1
	}
	return i
}

func latencyBucketValue(i int) time.Duration {
	if i < 64 {
		return time.Duration(i) * time.Microsecond
	}
	e := uint((i-64)/32 + 1)
	k := uint64((i - 64) % 32)
	lo := (32 + k) << e
	hi := (33+k)<<e - 1
	return time.Duration((lo+hi)/2) * time.Microsecond
}

func (h *latencyHistogram) Record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.counts[latencyBucket(uint64(d/time.Microsecond))].Add(1)
}

// LatencyCounts is a snapshot of a latency histogram's bucket counts.
type LatencyCounts []uint64

func (h *latencyHistogram) Snapshot() LatencyCounts {
	out := make(LatencyCounts, len(h.counts))
	for i := range h.counts {
		out[i] = h.counts[i].Load()
	}
	return out
}

// Sub returns the counts recorded since prev.
func (c LatencyCounts) Sub(prev LatencyCounts) LatencyCounts {
	out := make(LatencyCounts, len(c))
	for i := range c {
		out[i] = c[i]
		if i < len(prev) {
			out[i] -= prev[i]
		}
	}
	return out
}

// Count returns how many durations were recorded.
func (c LatencyCounts) Count() uint64 {
	var n uint64
	for _, v := range c {
		n += v
	}
	return n
}

// Quantile returns the q-quantile (0..1) of the recorded durations, 0 if none.
func (c LatencyCounts) Quantile(q float64) time.Duration {
	total := c.Count()
	if total == 0 {
		return 0
	}
	rank := uint64(q*float64(total) + 0.5)
	if rank < 1 {
		rank = 1
	}
	var seen uint64
	for i, v := range c {
		seen += v
		if seen >= rank {
			return latencyBucketValue(i)
		}
	}
	return latencyBucketValue(len(c) - 1)
}

// Mean returns the mean of the recorded durations, 0 if none.
func (c LatencyCounts) Mean() time.Duration {
	total := c.Count()
	if total == 0 {
		return 0
	}
	var sum float64
	for i, v := range c {
		sum += float64(v) * float64(latencyBucketValue(i))
	}
	return time.Duration(sum / float64(total))
}
