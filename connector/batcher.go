package connector

import (
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// FlushReason says why a batch was flushed.
type FlushReason uint8

// The reasons a batch is flushed.
const (
	FlushSize      FlushReason = iota // batch.max_events reached
	FlushBytes                        // batch.max_bytes reached
	FlushTime                         // batch.timeout passed since the batch's first record
	FlushRebalance                    // partitions are being revoked
	FlushShutdown                     // the connector is stopping
	// FlushIdle: nothing was in flight, so what was buffered went at once
	// (natural batching: small batches at low load, full ones under load).
	FlushIdle
	numFlushReasons
)

func (r FlushReason) String() string {
	switch r {
	case FlushSize:
		return "size"
	case FlushBytes:
		return "bytes"
	case FlushTime:
		return "time"
	case FlushRebalance:
		return "rebalance"
	case FlushShutdown:
		return "shutdown"
	case FlushIdle:
		return "idle"
	}
	return "unknown"
}

type queued struct {
	rec     *kgo.Record
	size    int
	arrived time.Time
}

// Batcher holds polled records in arrival order and decides when the batch
// at its front is due: when it holds max events or max bytes, or when its
// first record has waited the timeout. It is a plain synchronous type; the
// caller owns the clock and the timer.
//
// A batch stays at the front until Remove is called, so a batch that failed
// to flush is retried as it was, in order, before any later record.
type Batcher struct {
	maxEvents int
	maxBytes  int
	timeout   time.Duration

	q     []queued
	head  int
	bytes int
}

// NewBatcher returns a Batcher with the given limits; each must be positive.
func NewBatcher(maxEvents, maxBytes int, timeout time.Duration) *Batcher {
	return &Batcher{maxEvents: maxEvents, maxBytes: maxBytes, timeout: timeout}
}

// SetLimits changes the most records and bytes a batch holds (each at
// least 1); a batch flushed from then on follows them.
func (b *Batcher) SetLimits(events, bytes int) {
	b.maxEvents, b.maxBytes = max(events, 1), max(bytes, 1)
}

// RecordSize is what a record counts toward batch.max_bytes: its value, key
// and headers.
func RecordSize(rec *kgo.Record) int {
	n := len(rec.Value) + len(rec.Key)
	for _, h := range rec.Headers {
		n += len(h.Key) + len(h.Value)
	}
	return n
}

// Add appends a record that arrived at now.
func (b *Batcher) Add(rec *kgo.Record, now time.Time) {
	size := RecordSize(rec)
	b.q = append(b.q, queued{rec: rec, size: size, arrived: now})
	b.bytes += size
}

// Len returns how many records are held.
func (b *Batcher) Len() int { return len(b.q) - b.head }

// Bytes returns the size of the records held.
func (b *Batcher) Bytes() int { return b.bytes }

// Due reports whether the front batch should be flushed now, and why.
func (b *Batcher) Due(now time.Time) (FlushReason, bool) {
	n := b.Len()
	if n == 0 {
		return 0, false
	}
	if n >= b.maxEvents {
		return FlushSize, true
	}
	if b.bytes >= b.maxBytes {
		return FlushBytes, true
	}
	if !now.Before(b.q[b.head].arrived.Add(b.timeout)) {
		return FlushTime, true
	}
	return 0, false
}

// UntilNext returns how long until the front batch times out; ok is false
// when nothing is held.
func (b *Batcher) UntilNext(now time.Time) (d time.Duration, ok bool) {
	if b.Len() == 0 {
		return 0, false
	}
	d = b.q[b.head].arrived.Add(b.timeout).Sub(now)
	if d < 0 {
		d = 0
	}
	return d, true
}

// Front appends the front batch to dst: records in arrival order, at most
// max events, and no more than max bytes unless a single record is larger.
func (b *Batcher) Front(dst []*kgo.Record) []*kgo.Record {
	bytes, n := 0, 0
	for i := b.head; i < len(b.q) && n < b.maxEvents; i, n = i+1, n+1 {
		if n > 0 && bytes+b.q[i].size > b.maxBytes {
			break
		}
		bytes += b.q[i].size
		dst = append(dst, b.q[i].rec)
	}
	return dst
}

// FrontAge returns when the first held record arrived.
func (b *Batcher) FrontAge(now time.Time) time.Duration {
	if b.Len() == 0 {
		return 0
	}
	return now.Sub(b.q[b.head].arrived)
}

// Remove drops the first n records (a flushed front batch).
func (b *Batcher) Remove(n int) {
	for i := 0; i < n && b.head < len(b.q); i++ {
		b.bytes -= b.q[b.head].size
		b.q[b.head] = queued{}
		b.head++
	}
	b.compact()
}

// RemoveIf drops every held record for which drop returns true and returns
// how many were dropped; the others keep their order.
func (b *Batcher) RemoveIf(drop func(*kgo.Record) bool) int {
	kept := b.q[:b.head]
	dropped := 0
	for _, q := range b.q[b.head:] {
		if drop(q.rec) {
			b.bytes -= q.size
			dropped++
			continue
		}
		kept = append(kept, q)
	}
	clear(b.q[len(kept):])
	b.q = kept
	b.compact()
	return dropped
}

func (b *Batcher) compact() {
	if b.head == len(b.q) {
		b.q, b.head = b.q[:0], 0
		return
	}
	if b.head > 1024 && b.head*2 > len(b.q) {
		n := copy(b.q, b.q[b.head:])
		clear(b.q[n:])
		b.q, b.head = b.q[:n], 0
	}
}
