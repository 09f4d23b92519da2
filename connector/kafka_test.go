package connector

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
)

const snappy = 2

// batchOf is the metrics of a batch of n records of size bytes each that
// compress ratio times with snappy (ratio 1: uncompressed).
func batchOf(n, size, ratio int) kgo.FetchBatchMetrics {
	m := kgo.FetchBatchMetrics{NumRecords: n, UncompressedBytes: n * size, CompressedBytes: n * size / ratio}
	if ratio > 1 {
		m.CompressionType = snappy
	}
	return m
}

// heldBy is what franz-go holds for batch m per wire byte, as the sizer
// counts it.
func heldBy(m kgo.FetchBatchMetrics) float64 {
	held := m.CompressedBytes + m.NumRecords*int(recordOverhead)
	if m.CompressionType != 0 {
		held += m.UncompressedBytes
	}
	return float64(held) / float64(m.CompressedBytes)
}

func TestFetchSizerKeepsAFetchWithinTheBudget(t *testing.T) {
	const budget = 8 << 20
	tests := []struct {
		name    string
		maxWire int32
		batches []kgo.FetchBatchMetrics
		// want is the fetch size after the batches; 0: budget / the
		// last batch's ratio (the ratio rose to it at once, or decayed
		// towards it).
		want int64
	}{
		{"before any batch: the initial ratio", 50 << 20, nil, budget / initialFetchRatio},
		{"10 KiB values that compress 20 times", 50 << 20, []kgo.FetchBatchMetrics{batchOf(100, 10<<10, 20)}, 0},
		{"100-byte values that compress 2 times: the Records dominate", 50 << 20,
			[]kgo.FetchBatchMetrics{batchOf(1000, 100, 2), batchOf(1000, 100, 1), batchOf(1000, 100, 2)}, 0},
		{"a less compressible batch after a highly compressible one: no jump up", 50 << 20,
			[]kgo.FetchBatchMetrics{batchOf(100, 10<<10, 40), batchOf(1, 1<<20, 1)},
			int64(budget / heldBy(batchOf(100, 10<<10, 40)))},
		{"never above kafka.fetch_max_bytes", 1 << 20, repeat(batchOf(1, 1<<20, 1), 200), 1 << 20},
		{"never below the least fetch", 50 << 20, []kgo.FetchBatchMetrics{batchOf(1000, 100<<10, 1000)}, minFetchWireBytes},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newFetchSizer(config.Kafka{FetchBufferBytes: budget, FetchMaxBytes: tc.maxWire})
			highest := float64(initialFetchRatio)
			for i, m := range tc.batches {
				s.observe(m)
				highest = max(highest, heldBy(m))
				if s.wire > minFetchWireBytes && float64(s.wire)*s.ratio > budget*1.0001 {
					t.Fatalf("after batch %d: fetch %d bytes x ratio %.2f = %.0f bytes held, want at most %d",
						i, s.wire, s.ratio, float64(s.wire)*s.ratio, budget)
				}
				if s.ratio > highest {
					t.Fatalf("after batch %d: ratio %.2f above the highest seen, %.2f", i, s.ratio, highest)
				}
			}
			want := tc.want
			if want == 0 {
				if r := heldBy(tc.batches[len(tc.batches)-1]); r < s.ratio {
					want = int64(float64(budget) / s.ratio)
				} else {
					want = int64(float64(budget) / r)
				}
			}
			if s.wire != want {
				t.Errorf("fetch size: got %d, want %d (ratio %.2f)", s.wire, want, s.ratio)
			}
		})
	}
}

// A ratio lower than the one learnt is approached slowly, and the fetch
// size follows it up, reaching budget / ratio.
func TestFetchSizerGrowsBackSlowly(t *testing.T) {
	const budget = 8 << 20
	s := newFetchSizer(config.Kafka{FetchBufferBytes: budget, FetchMaxBytes: 50 << 20})
	s.observe(batchOf(100, 10<<10, 20))
	low := batchOf(1, 1<<20, 1)
	if _, mem := s.observe(low); mem != 0 {
		t.Errorf("after one less compressible batch: the size changed (ratio %.2f); want it kept", mem)
	}
	for range 200 {
		s.observe(low)
	}
	want := int64(float64(budget) / heldBy(low))
	if s.wire < want*7/8 || s.wire > want {
		t.Errorf("after 200 uncompressed batches: fetch size %d, want within an eighth below %d", s.wire, want)
	}
}

func repeat(m kgo.FetchBatchMetrics, n int) []kgo.FetchBatchMetrics {
	out := make([]kgo.FetchBatchMetrics, n)
	for i := range out {
		out[i] = m
	}
	return out
}

func TestMemoryBoundGrowsWithEachKey(t *testing.T) {
	base := config.Default()
	b0 := MemoryBound(base)
	tests := []struct {
		name string
		set  func(*config.Config)
		want int64 // the growth
	}{
		{"kafka.fetch_buffer_bytes", func(c *config.Config) { c.Kafka.FetchBufferBytes += 1 << 20 }, maxConcurrentFetches << 20},
		{"batch.max_buffered_bytes", func(c *config.Config) { c.Batch.MaxBufferedBytes += 1 << 20 }, 1 << 20},
		// From adaptive (counted at AdaptiveMaxBytes) to 1 MiB more.
		{"batch.max_bytes", func(c *config.Config) { c.Batch.MaxBytes = AdaptiveMaxBytes + 1<<20 }, AdaptiveMaxInFlight * 2 << 20},
		// From adaptive (AdaptiveMaxInFlight lanes) to one lane more.
		{"batch.max_in_flight", func(c *config.Config) { c.Batch.MaxInFlight = AdaptiveMaxInFlight + 1 },
			2*AdaptiveMaxBytes + int64(4*AdaptiveMaxEvents)*recordOverhead},
		{"adaptive batch bytes as their cap", func(c *config.Config) { c.Batch.MaxBytes = AdaptiveMaxBytes }, 0},
		// Adaptive limits count at their caps.
		{"adaptive as its caps", func(c *config.Config) {
			c.Batch.MaxEvents, c.Batch.MaxInFlight = AdaptiveMaxEvents, AdaptiveMaxInFlight
		}, 0},
		{"batch.max_events below the cap", func(c *config.Config) { c.Batch.MaxEvents = AdaptiveMaxEvents / 2 },
			-AdaptiveMaxInFlight * 4 * AdaptiveMaxEvents / 2 * recordOverhead},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := config.Default()
			tc.set(&c)
			if got := MemoryBound(c) - b0; got != tc.want {
				t.Errorf("growth: got %d, want %d", got, tc.want)
			}
		})
	}
}
