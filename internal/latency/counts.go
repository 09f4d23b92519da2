package latency

import "time"

// Counts is a snapshot of a Histogram: plain values, safe to copy and
// keep. The zero Counts is empty.
type Counts struct {
	buckets []uint64
	// max is the largest duration counted: exact (to the microsecond) in
	// a Snapshot, the bound its highest bucket gives after Sub.
	max time.Duration
}

// Count returns how many durations were recorded.
func (c Counts) Count() uint64 {
	var n uint64
	for _, v := range c.buckets {
		n += v
	}
	return n
}

// Max returns the largest duration recorded, 0 if none.
func (c Counts) Max() time.Duration {
	if c.Count() == 0 {
		return 0
	}
	return c.max
}

// Quantile returns the q-quantile (0..1) of the recorded durations, 0 if
// none: the midpoint of the bucket the rank falls in, never more than the
// maximum, and the maximum itself for the last rank.
func (c Counts) Quantile(q float64) time.Duration {
	total := c.Count()
	if total == 0 {
		return 0
	}
	rank := max(uint64(q*float64(total)+0.5), 1)
	if rank >= total {
		return c.max
	}
	var seen uint64
	for i, v := range c.buckets {
		seen += v
		if seen >= rank {
			return min(bucketValue(i), c.max)
		}
	}
	return c.max
}

// Mean returns the mean of the recorded durations (from the bucket
// midpoints), 0 if none.
func (c Counts) Mean() time.Duration {
	total := c.Count()
	if total == 0 {
		return 0
	}
	var sum float64
	for i, v := range c.buckets {
		sum += float64(v) * float64(bucketValue(i))
	}
	return time.Duration(sum / float64(total))
}

// Sub returns the counts recorded since prev, an earlier snapshot of the
// same Histogram. The window's maximum is not known exactly: it is the
// highest bucket's value the window counts, or the whole maximum when
// that is lower.
func (c Counts) Sub(prev Counts) Counts {
	out := Counts{buckets: make([]uint64, len(c.buckets)), max: c.max}
	var removed uint64
	for i := range c.buckets {
		out.buckets[i] = c.buckets[i]
		if i < len(prev.buckets) {
			out.buckets[i] -= prev.buckets[i]
			removed += prev.buckets[i]
		}
	}
	if removed == 0 {
		return out
	}
	out.max = 0
	for i := len(out.buckets) - 1; i >= 0; i-- {
		if out.buckets[i] > 0 {
			out.max = min(bucketValue(i), c.max)
			break
		}
	}
	return out
}

// Add returns the counts of c and o together, as if one Histogram had
// recorded both.
func (c Counts) Add(o Counts) Counts {
	out := Counts{buckets: make([]uint64, max(len(c.buckets), len(o.buckets))), max: max(c.max, o.max)}
	for i := range out.buckets {
		if i < len(c.buckets) {
			out.buckets[i] += c.buckets[i]
		}
		if i < len(o.buckets) {
			out.buckets[i] += o.buckets[i]
		}
	}
	return out
}
