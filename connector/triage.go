package connector

import (
	"errors"
	"strconv"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
	"github.com/kafka-redis-connector/kafka-redis-connector/sink"
)

// Headers added to a dead-lettered record, next to its own headers.
const (
	HeaderError           = "krc.error"
	HeaderReason          = "krc.reason"
	HeaderStream          = "krc.stream"
	HeaderSourceTopic     = "krc.source.topic"
	HeaderSourcePartition = "krc.source.partition"
	HeaderSourceOffset    = "krc.source.offset"
	HeaderTime            = "krc.time"
)

// poisonReasons are the reason label values of krc_records_dead_lettered_total.
// A decoder's errors name their own reason (schema_not_found, wire_format,
// decode_failed: internal/schemaregistry).
var poisonReasons = []string{"unresolvable_key", "invalid_json", "entry_too_large", "id_not_increasing", "invalid_id", "rejected", "other",
	"schema_not_found", "wire_format", "decode_failed"}

// poisonReason names the kind of a per-record permanent error, as the
// reason label of krc_records_dead_lettered_total.
func poisonReason(err error) string {
	var named interface{ PoisonReason() string }
	if errors.As(err, &named) {
		return named.PoisonReason()
	}
	switch {
	case errors.Is(err, sink.ErrUnresolvableKey):
		return "unresolvable_key"
	case errors.Is(err, sink.ErrInvalidJSON):
		return "invalid_json"
	case errors.Is(err, sink.ErrEntryTooLarge):
		return "entry_too_large"
	case errors.Is(err, sink.ErrIDNotIncreasing): // before ErrInvalidID, which it wraps
		return "id_not_increasing"
	case errors.Is(err, sink.ErrInvalidID):
		return "invalid_id"
	case errors.Is(err, sink.ErrRejected):
		return "rejected"
	}
	return "other"
}

type poisonRecord struct {
	index  int // in its batch when found
	rec    *kgo.Record
	stream string
	err    error
}

// triage applies errors.policy to records Redis can never accept. With
// "fail" the records are poisoned: never written again, never committed,
// and the connector stops. With "skip" they are done. With "dlq" they are
// queued for the dead-letter producer (b.rejected, handed over by apply):
// the flush does not wait for Kafka, so a dead-letter topic that fails
// holds back only the commits of the records' partitions, never the lane
// nor the Redis breaker. Runs in the flush, without c.mu.
func (c *Connector) triage(b *pendingBatch, poison []poisonRecord) {
	if len(poison) == 0 {
		return
	}
	switch c.errorPolicy {
	case config.PolicySkip:
		for _, p := range poison {
			b.state[p.index] = stateDeadLettered
			c.deadLettered(p, "skipped")
		}
		return
	case config.PolicyDLQ:
		for _, p := range poison {
			b.state[p.index] = stateQueued
			b.rejected = append(b.rejected, p)
		}
		return
	}
	for _, p := range poison {
		b.state[p.index] = statePoisoned
	}
	if b.fatal == nil {
		p := poison[0]
		b.fatal = &RecordError{Topic: p.rec.Topic, Partition: p.rec.Partition, Offset: p.rec.Offset, Stream: p.stream, Err: p.err}
	}
}

// deadLetterRecord is what goes to the dead-letter topic for p: the record
// unchanged, plus headers naming the error and where it came from.
func (c *Connector) deadLetterRecord(p poisonRecord, now string) *kgo.Record {
	return &kgo.Record{
		Topic: c.cfg.Errors.DLQTopic,
		Key:   p.rec.Key,
		Value: p.rec.Value,
		Headers: append(append([]kgo.RecordHeader(nil), p.rec.Headers...),
			kgo.RecordHeader{Key: HeaderError, Value: []byte(p.err.Error())},
			kgo.RecordHeader{Key: HeaderReason, Value: []byte(poisonReason(p.err))},
			kgo.RecordHeader{Key: HeaderStream, Value: []byte(p.stream)},
			kgo.RecordHeader{Key: HeaderSourceTopic, Value: []byte(p.rec.Topic)},
			kgo.RecordHeader{Key: HeaderSourcePartition, Value: []byte(strconv.Itoa(int(p.rec.Partition)))},
			kgo.RecordHeader{Key: HeaderSourceOffset, Value: []byte(strconv.FormatInt(p.rec.Offset, 10))},
			kgo.RecordHeader{Key: HeaderTime, Value: []byte(now)}),
	}
}

// deadLettered counts a poison record finished; the first record of each
// distinct reason is logged.
func (c *Connector) deadLettered(p poisonRecord, what string) {
	reason := poisonReason(p.err)
	c.stats.deadLettered.Add(1)
	c.metrics.RecordsDeadLettered.WithLabelValues(reason).Inc()
	c.reasonsMu.Lock()
	first := !c.loggedReasons[reason]
	c.loggedReasons[reason] = true
	c.reasonsMu.Unlock()
	if first {
		c.log.Warn("a record Redis cannot accept was "+what+"; later ones with the same reason are only counted",
			"reason", reason, "topic", p.rec.Topic, "partition", p.rec.Partition, "offset", p.rec.Offset,
			"stream", p.stream, "error", p.err)
	}
}
