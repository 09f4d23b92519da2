package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
	"github.com/kafka-redis-connector/kafka-redis-connector/loadgen"
	"github.com/kafka-redis-connector/kafka-redis-connector/sink"
)

// checkDelivered checks what a connector contender left in stream after
// draining the backlog of records distinct loadgen records: each of them,
// and under exactly_once each once. Under at_least_once duplicates are the
// guarantee's allowance (a batch written again after a timeout hid its
// success, a partition handed over before its offsets were committed); a
// missing record is not. A drain ends once the stream is long enough, so
// with duplicates the last records may still be on their way: it waits up
// to timeout for them.
func (e *env) checkDelivered(ctx context.Context, stream string, records int64, exactlyOnce bool, timeout time.Duration) error {
	d := delivered{records: records, seen: map[int32][]uint64{}}
	last := "-"
	deadline := time.Now().Add(timeout)
	for {
		before := d.entries
		err := sink.ReadStreamRange(ctx, e.rdb, stream, last, "+", func(id string, values map[string]any) error {
			last = "(" + id
			return d.observe(id, values)
		})
		if err != nil {
			return fmt.Errorf("bench: stream %s: %w", stream, err)
		}
		if exactlyOnce && d.duplicates > 0 {
			return fmt.Errorf("bench: stream %s holds %d entries, %d of them duplicates, want each of the %d records once (exactly_once)",
				stream, d.entries, d.duplicates, records)
		}
		if d.distinct == records {
			return nil
		}
		if d.distinct > records {
			return fmt.Errorf("bench: stream %s holds %d distinct records, more than the backlog's %d", stream, d.distinct, records)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bench: stream %s: %d of the %d records missing after %s (%d entries, %d duplicates)",
				stream, records-d.distinct, records, timeout, d.entries, d.duplicates)
		}
		if d.entries == before {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
}

// delivered tallies a stream's entries by the record each holds (its
// loadgen partition and sequence number), one bit a record.
type delivered struct {
	records                       int64
	run                           string
	seen                          map[int32][]uint64 // partition -> bitset of sequence numbers
	entries, distinct, duplicates int64
}

func (d *delivered) observe(id string, values map[string]any) error {
	v, _ := values[config.Default().Stream.ValueField].(string)
	h, err := loadgen.ParseValue([]byte(v))
	switch {
	case err != nil:
		return fmt.Errorf("entry %s holds no backlog record: %w", id, err)
	case d.run != "" && h.Run != d.run:
		return fmt.Errorf("entry %s holds a record of run %s, not of %s", id, h.Run, d.run)
	case h.Seq < 0 || h.Seq >= d.records:
		return fmt.Errorf("entry %s holds sequence number %d, outside the backlog's %d records", id, h.Seq, d.records)
	}
	d.run = h.Run
	d.entries++
	bits := d.seen[h.Partition]
	if w := int(h.Seq / 64); w >= len(bits) {
		bits = append(bits, make([]uint64, w+1-len(bits))...)
		d.seen[h.Partition] = bits
	}
	w, b := h.Seq/64, uint64(1)<<(h.Seq%64)
	if bits[w]&b != 0 {
		d.duplicates++
		return nil
	}
	bits[w] |= b
	d.distinct++
	return nil
}
