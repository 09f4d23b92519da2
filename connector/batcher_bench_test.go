package connector

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// BenchmarkBatcherAndTracker measures the per-record bookkeeping of the
// poll loop: add to a batcher, track the offset, take the batch, mark done,
// hand out the commit.
func BenchmarkBatcherAndTracker(b *testing.B) {
	const batch = 500
	recs := make([]*kgo.Record, batch)
	for i := range recs {
		recs[i] = &kgo.Record{Topic: "events", Partition: int32(i % 8), Value: make([]byte, 100)}
	}
	bt := NewBatcher(batch, 1<<20, 100*time.Millisecond)
	tr := NewOffsetTracker()
	now := time.Now()
	var buf []*kgo.Record
	offset := int64(0)
	b.ReportAllocs()
	for b.Loop() {
		for _, r := range recs {
			r.Offset = offset
			offset++
			bt.Add(r, now)
			tr.Track(r)
		}
		buf = bt.Front(buf[:0])
		bt.Remove(len(buf))
		for _, r := range buf {
			tr.Done(r)
		}
		_ = tr.Committable()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/record")
}
