package latency

import (
	"math/bits"
	"sync/atomic"
	"time"
)

const (
	linear  = 64 // exact buckets for 0..63µs
	sub     = 32 // sub-buckets per power of two
	powers  = 40
	buckets = linear + powers*sub
)

// Histogram records durations. The zero value is ready to use; a Histogram
// must not be copied after first use. Safe for concurrent use.
type Histogram struct {
	counts [buckets]atomic.Uint64
	max    atomic.Int64 // nanoseconds, truncated to the microsecond
}

// bucket returns the index of the bucket that counts us microseconds.
func bucket(us uint64) int {
	if us < linear {
		return int(us)
	}
	e := bits.Len64(us) - 6
	i := linear + (e-1)*sub + int(us>>uint(e)-sub)
	return min(i, buckets-1)
}

// bucketValue is the midpoint of bucket i, what a quantile falling in it
// reports.
func bucketValue(i int) time.Duration {
	if i < linear {
		return time.Duration(i) * time.Microsecond
	}
	e := uint((i-linear)/sub + 1)
	k := uint64((i - linear) % sub)
	lo := (sub + k) << e
	hi := (sub+1+k)<<e - 1
	return time.Duration((lo+hi)/2) * time.Microsecond
}

// Record counts one duration. Negative ones (clock skew) count as zero;
// ones beyond the last bucket count as its value.
func (h *Histogram) Record(d time.Duration) {
	us := uint64(max(d, 0) / time.Microsecond)
	i := bucket(us)
	v := time.Duration(us) * time.Microsecond
	if i == buckets-1 {
		v = min(v, bucketValue(i))
	}
	// The maximum first, then the count: a Snapshot, which loads the
	// counts first, then never sees a count above its maximum.
	for {
		cur := h.max.Load()
		if int64(v) <= cur || h.max.CompareAndSwap(cur, int64(v)) {
			break
		}
	}
	h.counts[i].Add(1)
}

// Snapshot returns the counts recorded so far.
func (h *Histogram) Snapshot() Counts {
	c := Counts{buckets: make([]uint64, len(h.counts))}
	for i := range h.counts {
		c.buckets[i] = h.counts[i].Load()
	}
	c.max = time.Duration(h.max.Load())
	return c
}
