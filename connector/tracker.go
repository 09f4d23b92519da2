package connector

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
)

type topicPartition struct {
	topic     string
	partition int32
}

type trackedOffset struct {
	offset int64
	epoch  int32
	done   bool
}

type partitionOffsets struct {
	pending   []trackedOffset // polled, in offset order, not yet committable
	head      int
	committed int64 // next offset to commit (last done + 1); -1 until something is done
	epoch     int32
	reported  int64 // the offset last handed out by Committable

	first        int64 // the first offset tracked; -1 until one is
	done         int64 // records that became committable
	reportedDone int64 // done when reported was handed out
	acked        int64 // the offset Kafka last acknowledged a commit of; -1 until it did
	ackedDone    int64 // done when acked was handed out
}

// OffsetTracker knows, per partition, which polled records are in Redis, and
// hands out the offset that may be committed: the one after the highest
// record that, with every earlier polled record of its partition, is done.
type OffsetTracker struct {
	parts map[topicPartition]*partitionOffsets
	// last caches the partition of the last Track or Done (nil: none).
	// Records come in runs of one partition, and hashing the topic for a
	// map lookup per record was most of Track's and Done's cost
	// (BenchmarkOffsetTracker).
	lastTP topicPartition
	last   *partitionOffsets
}

// NewOffsetTracker returns an empty tracker.
func NewOffsetTracker() *OffsetTracker {
	return &OffsetTracker{parts: make(map[topicPartition]*partitionOffsets)}
}

func (t *OffsetTracker) partition(topic string, partition int32) *partitionOffsets {
	if p := t.lookup(topic, partition); p != nil {
		return p
	}
	tp := topicPartition{topic, partition}
	p := &partitionOffsets{committed: -1, reported: -1, first: -1, acked: -1}
	t.parts[tp] = p
	t.lastTP, t.last = tp, p
	return p
}

// lookup returns the partition's state, nil when it is not tracked.
func (t *OffsetTracker) lookup(topic string, partition int32) *partitionOffsets {
	if t.last != nil && t.lastTP.partition == partition && t.lastTP.topic == topic {
		return t.last
	}
	tp := topicPartition{topic, partition}
	p := t.parts[tp]
	if p != nil {
		t.lastTP, t.last = tp, p
	}
	return p
}

// Track registers a polled record. Records of one partition must be tracked
// in offset order.
func (t *OffsetTracker) Track(rec *kgo.Record) {
	p := t.partition(rec.Topic, rec.Partition)
	if p.first < 0 {
		p.first = rec.Offset
	}
	p.pending = append(p.pending, trackedOffset{offset: rec.Offset, epoch: rec.LeaderEpoch})
}

// Done marks a tracked record as written (or otherwise finished) and
// advances its partition's committable offset as far as the done prefix goes.
func (t *OffsetTracker) Done(rec *kgo.Record) {
	p := t.lookup(rec.Topic, rec.Partition)
	if p == nil {
		return // forgotten: the partition was revoked or lost
	}
	// Done usually marks the oldest pending record; search from the front.
	for i := p.head; i < len(p.pending); i++ {
		if p.pending[i].offset == rec.Offset {
			p.pending[i].done = true
			break
		}
	}
	for p.head < len(p.pending) && p.pending[p.head].done {
		p.committed = p.pending[p.head].offset + 1
		p.epoch = p.pending[p.head].epoch
		p.head++
		p.done++
	}
	if p.head == len(p.pending) {
		p.pending, p.head = p.pending[:0], 0
	} else if p.head > 1024 && p.head*2 > len(p.pending) {
		n := copy(p.pending, p.pending[p.head:])
		p.pending, p.head = p.pending[:n], 0
	}
}

// Committable returns, for every partition whose committable offset moved
// since the last call, the offset to commit, and remembers it as handed out.
// It returns nil when there is nothing new.
func (t *OffsetTracker) Committable() map[string]map[int32]kgo.EpochOffset {
	var out map[string]map[int32]kgo.EpochOffset
	for tp, p := range t.parts {
		if p.committed < 0 || p.committed == p.reported {
			continue
		}
		if out == nil {
			out = make(map[string]map[int32]kgo.EpochOffset)
		}
		if out[tp.topic] == nil {
			out[tp.topic] = make(map[int32]kgo.EpochOffset)
		}
		out[tp.topic][tp.partition] = kgo.EpochOffset{Epoch: p.epoch, Offset: p.committed}
		p.reported, p.reportedDone = p.committed, p.done
	}
	return out
}

// Unreport forgets that offsets were handed out (their commit failed), so
// the next Committable returns them again.
func (t *OffsetTracker) Unreport(offsets map[string]map[int32]kgo.EpochOffset) {
	for topic, ps := range offsets {
		for partition, eo := range ps {
			if p := t.parts[topicPartition{topic, partition}]; p != nil && p.reported == eo.Offset {
				p.reported = -1
			}
		}
	}
}

// Pending returns how many tracked records are not committable yet: not
// done, or done behind an earlier record that is not.
func (t *OffsetTracker) Pending() int {
	n := 0
	for _, p := range t.parts {
		n += len(p.pending) - p.head
	}
	return n
}

// Forget drops all state of the given partitions: they were revoked or lost,
// and nothing more may be committed for them.
func (t *OffsetTracker) Forget(partitions map[string][]int32) {
	for topic, ps := range partitions {
		for _, partition := range ps {
			delete(t.parts, topicPartition{topic, partition})
		}
	}
	t.last = nil
}

// CommittedOffset returns the next offset to commit for a partition, or -1.
func (t *OffsetTracker) CommittedOffset(topic string, partition int32) int64 {
	if p := t.parts[topicPartition{topic, partition}]; p != nil {
		return p.committed
	}
	return -1
}

// ResetReported forgets every offset handed out, so the next Committable
// returns the current offset of every partition.
func (t *OffsetTracker) ResetReported() {
	for _, p := range t.parts {
		p.reported = -1
	}
}

// Acked records that Kafka acknowledged the commit of offsets, as handed
// out by the last Committable.
func (t *OffsetTracker) Acked(offsets map[string]map[int32]kgo.EpochOffset) {
	for topic, ps := range offsets {
		for partition, eo := range ps {
			if p := t.parts[topicPartition{topic, partition}]; p != nil && p.reported == eo.Offset {
				p.acked, p.ackedDone = eo.Offset, p.reportedDone
			}
		}
	}
}

// UncommittedRange is what a partition holds that Kafka has no commit for:
// Count records from offset From on. Kafka delivers them again.
type UncommittedRange struct {
	Topic     string
	Partition int32
	From      int64
	Count     int64
}

func (r UncommittedRange) String() string {
	return fmt.Sprintf("%s/%d from offset %d (%d records)", r.Topic, r.Partition, r.From, r.Count)
}

// Uncommitted returns, per partition in topic and partition order, the
// records tracked since the last acknowledged commit: written or not, Kafka
// will deliver them again.
func (t *OffsetTracker) Uncommitted() []UncommittedRange {
	var out []UncommittedRange
	for tp, p := range t.parts {
		n := p.done - p.ackedDone + int64(len(p.pending)-p.head)
		if n == 0 {
			continue
		}
		from := p.acked
		if from < 0 {
			from = p.first
		}
		out = append(out, UncommittedRange{Topic: tp.topic, Partition: tp.partition, From: from, Count: n})
	}
	slices.SortFunc(out, func(a, b UncommittedRange) int {
		return cmp.Or(strings.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition))
	})
	return out
}
