package connector_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// batch.max_buffered_bytes bounds what the connector holds, in bytes: with
// Redis stalled, it fetches up to the bound plus at most one fetch, then
// stops fetching; once Redis answers, everything arrives.
func TestComponentBufferedBytesBound(t *testing.T) {
	const (
		records = 300
		size    = 32 << 10
		bound   = 512 << 10
	)
	e := newEnv(t, 4)
	e.cfg.Batch.MaxBytes = 64 << 10
	e.cfg.Batch.MaxBufferedBytes = bound
	if err := e.cfg.Validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	value := bytes.Repeat([]byte("v"), size)
	for i := 0; i < records; i++ {
		rec := &kgo.Record{Partition: int32(i % 4), Value: value}
		if err := e.prod.ProduceSync(context.Background(), rec).FirstErr(); err != nil {
			t.Fatalf("produce: %v", err)
		}
		e.sent[rec.Partition] = append(e.sent[rec.Partition], rec.Offset)
	}
	w := newGatedWriter(e.sinkWriter())
	r := e.startWith(w)
	<-w.entered
	// One poll brings in at most the room left, in records of the average
	// size seen (the values compress well, so fetch limits in compressed
	// bytes alone would not bound it).
	limit := bound + size
	waitFor(t, "the buffer to fill up to the bound", 10*time.Second, func() bool {
		now, _ := r.c.BufferedBytes()
		return now >= bound-size
	})
	if got := r.c.Snapshot().Consumed; got >= records {
		t.Errorf("consumed while Redis is stalled: got %d, want fewer than %d (fetching stops at the bound)", got, records)
	}
	close(w.release)
	e.waitEntries(records, 30*time.Second)
	r.shutdown(t)
	e.verify()
	if _, peak := r.c.BufferedBytes(); peak > limit {
		t.Errorf("peak buffered bytes: got %d, want at most %d (bound %d + one poll)", peak, limit, bound)
	}
}
