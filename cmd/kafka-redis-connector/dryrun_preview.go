package main

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
	"github.com/kafka-redis-connector/kafka-redis-connector/sink"
)

// entryPreview is what the connector would do with one record: the XADD it
// would send, or the per-record error it would meet.
type entryPreview struct {
	rec *kgo.Record
	// stream is the target stream key; "" when the template cannot be
	// resolved.
	stream string
	// fallback is set when stream comes from stream.fallback_key.
	fallback bool
	fields   []entryField
	// err is the per-record error, reason its kind (the reason label of
	// krc_records_dead_lettered_total).
	err    error
	reason string
}

// entryField is one field/value pair of a stream entry, in entry order.
type entryField struct {
	name  string
	value []byte
}

// entryPreviewer renders records the way the sink writes them, through the
// sink's exported key template and field mapping, without Redis.
type entryPreviewer struct {
	key      *sink.StreamKeyTemplate
	fallback *sink.StreamKeyTemplate
	mapping  *sink.FieldMapping
	// trim is the XADD trim clause ("MAXLEN", "~", "1000"), or nil.
	trim []string
	// With encryption, sealed names the fields whose values would be
	// sealed (shown in clear), and keyIDField/keyID the pair added after
	// the value field.
	sealed            []string
	keyIDField, keyID string
	valueField        string
	policy            config.ErrorPolicy
	dlqTopic          string
}

func newEntryPreviewer(cfg config.Config) (*entryPreviewer, error) {
	p := &entryPreviewer{
		valueField: cfg.Stream.ValueField,
		policy:     cfg.Errors.EffectivePolicy(),
		dlqTopic:   cfg.Errors.DLQTopic,
	}
	var err error
	if p.key, err = sink.ParseStreamKeyTemplate(cfg.Stream.Key); err != nil {
		return nil, err
	}
	if cfg.Stream.FallbackKey != "" {
		if p.fallback, err = sink.ParseStreamKeyTemplate(cfg.Stream.FallbackKey); err != nil {
			return nil, err
		}
	}
	if p.mapping, err = sink.NewFieldMapping(cfg.Stream); err != nil {
		return nil, err
	}
	if cfg.Stream.MaxLen > 0 {
		op := "="
		if cfg.Stream.ApproxTrim {
			op = "~"
		}
		p.trim = []string{"MAXLEN", op, strconv.FormatInt(cfg.Stream.MaxLen, 10)}
	}
	if cfg.Encryption.Enabled {
		p.sealed = cfg.Encryption.SealedFields(cfg.Stream)
		p.keyIDField, p.keyID = cfg.Encryption.KeyIDField, cfg.Encryption.KeyID
	}
	return p, nil
}

// entryID is the ID every XADD of the connector carries: Redis assigns it.
const entryID = "*"

func (p *entryPreviewer) preview(rec *kgo.Record) entryPreview {
	out := entryPreview{rec: rec}
	key, ok := p.key.AppendKey(nil, rec)
	if !ok && p.fallback != nil {
		key, ok = p.fallback.AppendKey(nil, rec)
		out.fallback = ok
	}
	if !ok {
		out.err = fmt.Errorf("%w: template %q", sink.ErrUnresolvableKey, p.key)
		out.reason = previewReason(out.err)
		return out
	}
	out.stream = string(key)
	args, _, err := p.mapping.AppendFields(nil, nil, rec)
	if err != nil {
		out.err, out.reason = err, previewReason(err)
		return out
	}
	for i := 0; i+1 < len(args); i += 2 {
		f := entryField{name: fmt.Sprint(args[i]), value: fieldBytes(args[i+1])}
		out.fields = append(out.fields, f)
		if p.keyIDField != "" && i == 0 && f.name == p.valueField {
			out.fields = append(out.fields, entryField{name: p.keyIDField, value: []byte(p.keyID)})
		}
	}
	return out
}

func fieldBytes(v any) []byte {
	switch x := v.(type) {
	case []byte:
		return x
	case string:
		return []byte(x)
	}
	return fmt.Append(nil, v)
}

// previewReason names the kind of a per-record error as the connector's
// dead-letter metric and header do.
func previewReason(err error) string {
	switch {
	case errors.Is(err, sink.ErrUnresolvableKey):
		return "unresolvable_key"
	case errors.Is(err, sink.ErrInvalidJSON):
		return "invalid_json"
	case errors.Is(err, sink.ErrEntryTooLarge):
		return "entry_too_large"
	}
	return "other"
}

// policyAction says what errors.policy would make of a per-record error.
func (p *entryPreviewer) policyAction() string {
	switch p.policy {
	case config.PolicySkip:
		return "skipped and counted (errors.policy skip)"
	case config.PolicyDLQ:
		return "sent to the dead-letter topic " + p.dlqTopic + " (errors.policy dlq)"
	}
	return "the connector would stop here (errors.policy fail)"
}

// formatTimestamp renders a record timestamp in UTC with milliseconds.
func formatTimestamp(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}
