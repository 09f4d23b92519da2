package connector_test

import (
	"bytes"
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafka-redis-connector/kafka-redis-connector/connector"
)

// decodedBytes counts the bytes of the batches the client read, once
// decompressed.
type decodedBytes struct{ n atomic.Int64 }

func (d *decodedBytes) OnFetchBatchRead(_ kgo.BrokerMetadata, _ string, _ int32, m kgo.FetchBatchMetrics) {
	d.n.Add(int64(m.UncompressedBytes))
}

// kafka.fetch_buffer_bytes bounds what a fetch brings in decoded, also
// for records that compress 20-fold (fetch limits in wire bytes alone let
// one fetch decode into 20 times its size): with Redis stalled, the client
// reads at most what the lanes hold plus two fetches' budget.
func TestComponentFetchBufferBytesBound(t *testing.T) {
	const (
		records = 400
		size    = 32 << 10
		bound   = 512 << 10 // batch.max_buffered_bytes
		budget  = 128 << 10 // kafka.fetch_buffer_bytes
	)
	e := newEnv(t, 4)
	e.cfg.Batch.MaxBytes = 64 << 10
	e.cfg.Batch.MaxBufferedBytes = bound
	e.cfg.Kafka.FetchBufferBytes = budget
	if err := e.cfg.Validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	value := bytes.Repeat([]byte("v"), size) // snappy, the producer's default, compresses it ~20x
	for i := 0; i < records; i++ {
		rec := &kgo.Record{Partition: int32(i % 4), Value: value}
		if err := e.prod.ProduceSync(context.Background(), rec).FirstErr(); err != nil {
			t.Fatalf("produce: %v", err)
		}
		e.sent[rec.Partition] = append(e.sent[rec.Partition], rec.Offset)
	}
	read := &decodedBytes{}
	w := newGatedWriter(e.sinkWriter())
	r := e.startWith(w, connector.WithKafkaOpts(kgo.WithHooks(read)))
	<-w.entered
	waitFor(t, "the buffer to fill up to the bound", 10*time.Second, func() bool {
		now, _ := r.c.BufferedBytes()
		return now >= bound-size
	})
	_, peak := r.c.BufferedBytes()
	limit := int64(peak) + size + 2*budget
	if got := read.n.Load(); got > limit {
		t.Errorf("decoded bytes read while Redis is stalled: got %d, want at most %d (lanes' peak %d + one record + 2 x kafka.fetch_buffer_bytes %d)",
			got, limit, peak, budget)
	}
	close(w.release)
	e.waitEntries(records, 30*time.Second)
	r.shutdown(t)
	e.verify()
}
