package sink

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
	"github.com/kafka-redis-connector/kafka-redis-connector/internal/schemaregistry"
)

// PayloadDecoder turns a payload in a schema registry's wire format into
// JSON; *schemaregistry.Decoder is one. Its errors are a
// *schemaregistry.RecordError (the record's) or wrap
// schemaregistry.ErrUnavailable (the registry's).
type PayloadDecoder interface {
	AppendJSON(ctx context.Context, dst, payload []byte) ([]byte, error)
}

// decodedFormats holds what stream.format and stream.key_format avro,
// protobuf and json_schema need: the decoders, set by WithSchemaRegistry.
type decodedFormats struct {
	valueFormat, keyFormat schemaregistry.Format // "" for raw and json
	value, key             PayloadDecoder
}

func decodedFormatsOf(cfg config.Stream) (decodedFormats, error) {
	var d decodedFormats
	if f, ok := schemaregistry.ParseFormat(cfg.Format); ok {
		d.valueFormat = f
	}
	switch cfg.KeyFormat {
	case "", "raw":
	default:
		f, ok := schemaregistry.ParseFormat(cfg.KeyFormat)
		if !ok {
			return d, fmt.Errorf("sink: unknown stream key format %q", cfg.KeyFormat)
		}
		d.keyFormat = f
	}
	return d, nil
}

// WithSchemaRegistry gives the Writer the registry that stream.format and
// stream.key_format avro, protobuf and json_schema decode through. Without
// it NewWriter refuses those formats.
func WithSchemaRegistry(reg *schemaregistry.Registry) WriterOption {
	return withMapping(func(m *FieldMapping) error {
		d := &m.decode
		if d.valueFormat != "" {
			d.value = reg.Decoder(d.valueFormat)
		}
		if d.keyFormat != "" {
			d.key = reg.Decoder(d.keyFormat)
		}
		return nil
	})
}

// WithPayloadDecoders sets the value and key decoders directly (nil: that
// part is not decoded), for tests and benchmarks with their own decoder.
func WithPayloadDecoders(value, key PayloadDecoder) WriterOption {
	return withMapping(func(m *FieldMapping) error {
		m.decode.value, m.decode.key = value, key
		return nil
	})
}

// checkDecoders reports a format whose decoder is missing.
func (m *FieldMapping) checkDecoders() error {
	d := m.decode
	if d.valueFormat != "" && d.value == nil {
		return fmt.Errorf("sink: stream.format %s needs a schema registry (schema_registry.url)", d.valueFormat)
	}
	if d.keyFormat != "" && d.key == nil {
		return fmt.Errorf("sink: stream.key_format %s needs a schema registry (schema_registry.url)", d.keyFormat)
	}
	return nil
}

// encodesDirect reports whether records go to Redis as they are (raw
// value and key), which the direct transport encodes without AppendFields.
func (m *FieldMapping) encodesDirect() bool {
	return !m.json && m.decode.value == nil && m.decode.key == nil
}

// appendFieldsContext is AppendFields for every format: with a value or
// key decoder it decodes that part first, which may ask the schema
// registry, then maps the decoded record as the json format does. A
// top-level value that is not an object (an Avro string, say) is stored
// under stream.value_field; a decoded key is its JSON text, a string its
// text. The decoded bytes live in the arena.
func (m *FieldMapping) appendFieldsContext(ctx context.Context, args []any, scratch []byte, rec *kgo.Record) ([]any, []byte, error) {
	d := &m.decode
	if d.value == nil && d.key == nil {
		return m.AppendFields(args, scratch, rec)
	}
	r := *rec
	if d.key != nil && rec.Key != nil {
		begin := len(scratch)
		var err error
		if scratch, err = d.key.AppendJSON(ctx, scratch, rec.Key); err != nil {
			return args, scratch[:begin], decodeError("key", err)
		}
		key := scratch[begin:len(scratch):len(scratch)]
		if len(key) > 0 && key[0] == '"' {
			if s, err := strconv.Unquote(string(key)); err == nil {
				key = append(scratch[len(scratch):], s...)
				scratch = scratch[:len(scratch)+len(key)]
			}
		}
		r.Key = key
	}
	if d.value != nil {
		begin := len(scratch)
		var err error
		if scratch, err = d.value.AppendJSON(ctx, scratch, rec.Value); err != nil {
			return args, scratch[:begin], decodeError("value", err)
		}
		if len(scratch) > begin && scratch[begin] != '{' {
			doc := append([]byte(nil), scratch[begin:]...)
			scratch = strconv.AppendQuote(append(scratch[:begin], '{'), m.valueField)
			scratch = append(append(append(scratch, ':'), doc...), '}')
		}
		r.Value = scratch[begin:len(scratch):len(scratch)]
	}
	return m.AppendFields(args, scratch, &r)
}

// decodeError classifies a decoder's error for the sink: the registry's
// are retryable, the record's go to errors.policy.
func decodeError(part string, err error) error {
	if errors.Is(err, schemaregistry.ErrUnavailable) {
		return fmt.Errorf("%w: %s: %w", ErrSchemaRegistryUnavailable, part, err)
	}
	return fmt.Errorf("%w: %s: %w", ErrUndecodable, part, err)
}
