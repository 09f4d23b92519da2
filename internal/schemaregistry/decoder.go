package schemaregistry

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/twmb/franz-go/pkg/sr"
)

// Format is a payload format decoded through the registry.
type Format string

// The formats, as stream.format and stream.key_format name them.
const (
	Avro       Format = "avro"
	Protobuf   Format = "protobuf"
	JSONSchema Format = "json_schema"
)

// schemaType is the registry's schema type for each format.
var schemaType = map[Format]sr.SchemaType{Avro: sr.TypeAvro, Protobuf: sr.TypeProtobuf, JSONSchema: sr.TypeJSON}

// ParseFormat returns the Format s names, and false when it names none.
func ParseFormat(s string) (Format, bool) {
	f := Format(s)
	_, ok := schemaType[f]
	return f, ok
}

// Decoder turns payloads of one format into JSON.
type Decoder struct {
	reg    *Registry
	format Format
	header sr.ConfluentHeader
}

// Decoder returns a decoder of format f.
func (r *Registry) Decoder(f Format) *Decoder {
	return &Decoder{reg: r, format: f}
}

// AppendJSON decodes payload, in the Confluent wire format, and appends its
// JSON rendering to dst: an object for an Avro record, a Protobuf message or
// a JSON object, other JSON values for other schemas. Errors are a
// *RecordError (permanent) or wrap ErrUnavailable (retry later).
func (d *Decoder) AppendJSON(ctx context.Context, dst, payload []byte) ([]byte, error) {
	id, body, err := d.header.DecodeID(payload)
	if err != nil {
		return dst, recordErr(ReasonWireFormat, 0, "%d byte(s), want magic byte 0 and a 4-byte schema id", len(payload))
	}
	sch, err := d.reg.schema(ctx, id)
	if err != nil {
		return dst, err
	}
	if want := schemaType[d.format]; sch.typ != want {
		return dst, recordErr(ReasonDecodeFailed, id, "the schema is %s, the format %s wants %s", sch.typ, d.format, want)
	}
	start := len(dst)
	switch d.format {
	case Avro:
		dst, err = appendAvroJSON(dst, sch.avro, body)
	case Protobuf:
		index, rest, ierr := d.header.DecodeIndex(body, maxDepth)
		if ierr != nil {
			return dst, recordErr(ReasonWireFormat, id, "protobuf message index: %v", ierr)
		}
		md, merr := messageAt(sch.proto, index)
		if merr != nil {
			return dst, recordErr(ReasonWireFormat, id, "%v", merr)
		}
		dst, err = appendProtoJSON(dst, md, rest)
	case JSONSchema:
		// The payload is the JSON document; validating it against the
		// schema is the producer's job (and optional here).
		if !json.Valid(body) {
			err = fmt.Errorf("json: payload is not valid JSON")
		} else {
			buf := bytes.NewBuffer(dst)
			if err = json.Compact(buf, body); err == nil {
				dst = buf.Bytes()
			}
		}
	}
	if err != nil {
		return dst[:start], &RecordError{Reason: ReasonDecodeFailed, ID: id, Err: err}
	}
	return dst, nil
}
