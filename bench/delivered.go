package bench

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
	"github.com/kafka-redis-connector/kafka-redis-connector/loadgen"
	"github.com/kafka-redis-connector/kafka-redis-connector/sink"
)

// checkDelivered checks what a connector contender left in stream after
// draining the backlog of records distinct loadgen records: each of them,
// and under exactly_once each once (checkDeliveredIn).
func (e *env) checkDelivered(ctx context.Context, stream string, records int64, exactlyOnce bool, timeout time.Duration) error {
	return e.checkDeliveredIn(ctx, []string{stream}, records, exactlyOnce, timeout, loadgenRecords(records))
}

// checkDeliveredIn checks what a connector left in streams after draining
// a backlog of records distinct records, each entry's record named by
// recordOf: each of them, and under exactly_once each once. Under
// at_least_once duplicates are the guarantee's allowance (a batch written
// again after a timeout hid its success, a partition handed over before its
// offsets were committed); a missing record is not, nor an entry that holds
// none of the backlog's. A drain ends once the streams are long enough, so
// with duplicates the last records may still be on their way: it waits up
// to timeout for them.
func (e *env) checkDeliveredIn(ctx context.Context, streams []string, records int64, exactlyOnce bool, timeout time.Duration, of recordOf) error {
	if len(streams) == 0 {
		return fmt.Errorf("bench: no stream holds the %d records", records)
	}
	d := delivered{of: of, seen: map[int32][]uint64{}}
	last := make([]string, len(streams))
	for i := range last {
		last[i] = "-"
	}
	where, hold := "stream "+streams[0], "holds"
	if len(streams) > 1 {
		where, hold = fmt.Sprintf("the %d streams %s …", len(streams), streams[0]), "hold"
	}
	deadline := time.Now().Add(timeout)
	for {
		before := d.entries
		for i, stream := range streams {
			err := sink.ReadStreamRange(ctx, e.rdb, stream, last[i], "+", func(id string, values map[string]any) error {
				last[i] = "(" + id
				return d.observe(id, values)
			})
			if err != nil {
				return fmt.Errorf("bench: stream %s: %w", stream, err)
			}
		}
		if exactlyOnce && d.duplicates > 0 {
			return fmt.Errorf("bench: %s %s %d entries, %d of them duplicates, want each of the %d records once (exactly_once)",
				where, hold, d.entries, d.duplicates, records)
		}
		if d.distinct == records {
			return nil
		}
		if d.distinct > records {
			return fmt.Errorf("bench: %s %s %d distinct records, more than the backlog's %d", where, hold, d.distinct, records)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bench: %s: %d of the %d records missing after %s (%d entries, %d duplicates)",
				where, records-d.distinct, records, timeout, d.entries, d.duplicates)
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

// recordOf names the backlog record a stream entry holds: its partition
// and its sequence number there, or an error if it holds none.
type recordOf func(id string, values map[string]any) (partition int32, seq int64, err error)

// loadgenRecords reads the record from the loadgen header of the entry's
// value field: every entry of one run, sequence numbers below records.
func loadgenRecords(records int64) recordOf {
	var run string
	field := config.Default().Stream.ValueField
	return func(id string, values map[string]any) (int32, int64, error) {
		v, _ := values[field].(string)
		h, err := loadgen.ParseValue([]byte(v))
		switch {
		case err != nil:
			return 0, 0, fmt.Errorf("entry %s holds no backlog record: %w", id, err)
		case run != "" && h.Run != run:
			return 0, 0, fmt.Errorf("entry %s holds a record of run %s, not of %s", id, h.Run, run)
		case h.Seq < 0 || h.Seq >= records:
			return 0, 0, fmt.Errorf("entry %s holds sequence number %d, outside the backlog's %d records", id, h.Seq, records)
		}
		run = h.Run
		return h.Partition, h.Seq, nil
	}
}

// kafkaRecords reads the record from the topic, partition and offset
// fields the connector adds by default (stream.metadata), for entries
// whose value is decoded into fields of its own (a schema format). The
// backlog is records records sent round robin to the partitions of a new
// topic by a producer without transactions, so partition k holds offsets 0
// to its count-1, with no gaps.
func kafkaRecords(topic string, partitions int32, records int64) recordOf {
	return func(id string, values map[string]any) (int32, int64, error) {
		t, _ := values["topic"].(string)
		ps, _ := values["partition"].(string)
		os, _ := values["offset"].(string)
		p, perr := strconv.ParseInt(ps, 10, 32)
		off, oerr := strconv.ParseInt(os, 10, 64)
		switch {
		case t != topic:
			return 0, 0, fmt.Errorf("entry %s holds no record of topic %s (topic field %q)", id, topic, t)
		case perr != nil || oerr != nil:
			return 0, 0, fmt.Errorf("entry %s holds no kafka partition and offset (%q, %q)", id, ps, os)
		case p < 0 || p >= int64(partitions):
			return 0, 0, fmt.Errorf("entry %s holds partition %d, outside the backlog's %d", id, p, partitions)
		}
		if n := partitionRecords(int32(p), partitions, records); off < 0 || off >= n {
			return 0, 0, fmt.Errorf("entry %s holds offset %d, outside partition %d's %d records", id, off, p, n)
		}
		return int32(p), off, nil
	}
}

// partitionRecords is how many of records sent round robin to partitions
// partition p holds.
func partitionRecords(p, partitions int32, records int64) int64 {
	n := records / int64(partitions)
	if int64(p) < records%int64(partitions) {
		n++
	}
	return n
}

// delivered tallies a stream's entries by the record each holds, one bit a
// record.
type delivered struct {
	of                            recordOf
	seen                          map[int32][]uint64 // partition -> bitset of sequence numbers
	entries, distinct, duplicates int64
}

func (d *delivered) observe(id string, values map[string]any) error {
	p, seq, err := d.of(id, values)
	if err != nil {
		return err
	}
	d.entries++
	bits := d.seen[p]
	if w := int(seq / 64); w >= len(bits) {
		bits = append(bits, make([]uint64, w+1-len(bits))...)
		d.seen[p] = bits
	}
	w, b := seq/64, uint64(1)<<(seq%64)
	if bits[w]&b != 0 {
		d.duplicates++
		return nil
	}
	bits[w] |= b
	d.distinct++
	return nil
}
