package sink

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
)

type metadataField uint8

// TombstoneField and TombstoneValue mark the entry of a record with a null
// value under stream.tombstones: entry; the value field is left out.
const (
	TombstoneField = config.TombstoneField
	TombstoneValue = "1"
)

// respTombstone is the marker pair encoded as RESP.
var respTombstone = appendBulk(appendBulk(nil, TombstoneField), TombstoneValue)

const (
	metaTopic metadataField = iota
	metaPartition
	metaOffset
	metaTimestamp
)

// FieldMapping turns a record into the field/value pairs of a stream entry.
type FieldMapping struct {
	json          bool
	valueField    string
	keyField      string
	headersPrefix string
	metadata      []metadataField
	metaNames     []any // the metadata field names, boxed once: boxing a string allocates
	valueName     any
	keyName       any
	maxEntryBytes int
	// tombstones marks records with a null value instead of storing one
	// (stream.tombstones: entry).
	tombstones bool

	// decode holds the decoders of stream.format and stream.key_format
	// avro, protobuf and json_schema (decoded.go).
	decode decodedFormats

	// seal, when set, encrypts the value and the headers in sealHeaders,
	// and keyIDPair names its key (SealWith).
	seal        Sealer
	keyIDPair   []any // keyIDField, seal.KeyID(), boxed once
	sealHeaders []string

	// The field names (and the key id pair) encoded as RESP bulk strings
	// once, for appendRESPFields.
	respValueName, respKeyName, respKeyIDPair []byte
	respMetaNames                             [][]byte
	metaNameLens                              []int // len of each metaNames, without unboxing it per record
}

// MappingOption configures optional behaviour of a FieldMapping: sealing
// (SealWith) and the payload decoders. NewFieldMapping applies them once
// the configuration is parsed, so each can check it; a Writer passes the
// ones its options carry.
type MappingOption func(*FieldMapping) error

// NewFieldMapping builds the mapping described by the stream configuration
// and opts.
func NewFieldMapping(cfg config.Stream, opts ...MappingOption) (*FieldMapping, error) {
	m := &FieldMapping{
		json:          cfg.Format != "raw", // json, or decoded into JSON first (decoded.go)
		valueField:    cfg.ValueField,
		keyField:      cfg.KeyField,
		headersPrefix: cfg.HeadersPrefix,
		maxEntryBytes: cfg.MaxEntryBytes,
		valueName:     cfg.ValueField,
		keyName:       cfg.KeyField,
		tombstones:    cfg.Tombstones == "entry",
	}
	var err error
	if m.decode, err = decodedFormatsOf(cfg); err != nil {
		return nil, err
	}
	if cfg.Format != "raw" && cfg.Format != "json" && m.decode.valueFormat == "" {
		return nil, fmt.Errorf("sink: unknown stream format %q", cfg.Format)
	}
	for _, name := range cfg.Metadata {
		var f metadataField
		switch name {
		case "topic":
			f = metaTopic
		case "partition":
			f = metaPartition
		case "offset":
			f = metaOffset
		case "timestamp":
			f = metaTimestamp
		default:
			return nil, fmt.Errorf("sink: unknown metadata field %q", name)
		}
		m.metadata = append(m.metadata, f)
		m.metaNames = append(m.metaNames, name)
		m.respMetaNames = append(m.respMetaNames, appendBulk(nil, name))
		m.metaNameLens = append(m.metaNameLens, len(name))
	}
	m.respValueName = appendBulk(nil, cfg.ValueField)
	m.respKeyName = appendBulk(nil, cfg.KeyField)
	for _, o := range opts {
		if err := o(m); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// AppendFields appends the entry's field/value pairs for rec to args. Values
// are []byte (stored binary-safe) or strings. scratch is an arena for
// formatted numbers; the returned arena must be kept alive until the command
// is sent. size is the entry's payload size in bytes.
func (m *FieldMapping) AppendFields(args []any, scratch []byte, rec *kgo.Record) (out []any, arena []byte, err error) {
	start := len(args)
	if m.tombstones && rec.Value == nil {
		args = append(args, TombstoneField, TombstoneValue)
	} else if m.json {
		if m.decode.value != nil {
			args, err = appendObjectFields(args, rec.Value) // decoded.go
		} else {
			args, err = appendJSONFields(args, rec.Value)
		}
		if err != nil {
			return args[:start], scratch, err
		}
	} else if m.seal != nil {
		begin := len(scratch)
		scratch = m.seal.AppendSeal(scratch, rec.Value, m.valueField)
		args = append(args, m.valueName, scratch[begin:len(scratch):len(scratch)])
		args = append(args, m.keyIDPair...)
	} else {
		args = append(args, m.valueName, nonNil(rec.Value))
	}
	if m.keyField != "" && rec.Key != nil {
		args = append(args, m.keyName, rec.Key)
	}
	if m.headersPrefix != "" {
		for i := range rec.Headers {
			h := &rec.Headers[i]
			if m.seal != nil && slices.Contains(m.sealHeaders, h.Key) {
				field, begin := m.headersPrefix+h.Key, len(scratch)
				scratch = m.seal.AppendSeal(scratch, h.Value, field)
				args = append(args, field, scratch[begin:len(scratch):len(scratch)])
				continue
			}
			args = append(args, m.headersPrefix+h.Key, nonNil(h.Value))
		}
	}
	for i, f := range m.metadata {
		begin := len(scratch)
		switch f {
		case metaTopic:
			args = append(args, m.metaNames[i], rec.Topic)
			continue
		case metaPartition:
			scratch = strconv.AppendInt(scratch, int64(rec.Partition), 10)
		case metaOffset:
			scratch = strconv.AppendInt(scratch, rec.Offset, 10)
		case metaTimestamp:
			scratch = strconv.AppendInt(scratch, rec.Timestamp.UnixMilli(), 10)
		}
		args = append(args, m.metaNames[i], scratch[begin:len(scratch):len(scratch)])
	}
	if len(args) == start {
		return args, scratch, fmt.Errorf("%w: the entry would have no fields", ErrInvalidJSON)
	}
	if m.maxEntryBytes > 0 {
		if size := entrySize(args[start:]); size > m.maxEntryBytes {
			return args[:start], scratch, fmt.Errorf("%w: %d bytes > %d", ErrEntryTooLarge, size, m.maxEntryBytes)
		}
	}
	return args, scratch, nil
}

// respFieldArgs is the number of arguments appendRESPFields appends for rec.
func (m *FieldMapping) respFieldArgs(rec *kgo.Record) int {
	n := 1 + len(m.metadata)
	if m.seal != nil && !(m.tombstones && rec.Value == nil) {
		n++
	}
	if m.keyField != "" && rec.Key != nil {
		n++
	}
	if m.headersPrefix != "" {
		n += len(rec.Headers)
	}
	return 2 * n
}

// appendRESPFields appends the entry's fields for rec to dst as RESP bulk
// strings, exactly as appendArgs would encode what AppendFields returns,
// but without boxing each field into an interface (see direct.go): the
// respFieldArgs(rec) arguments, which FuzzDirectEncoding holds to that.
// It serves the raw format only. scratch holds sealed values.
// nums holds the numbers the write encoded last, reused for the next record
// when they repeat or follow (respNumbers).
func (m *FieldMapping) appendRESPFields(dst, scratch []byte, nums *respNumbers, rec *kgo.Record) (out, arena []byte, err error) {
	start, size := len(dst), 0
	// pair appends a field whose name is encoded already.
	pair := func(name []byte, nameLen int, value []byte) {
		dst = appendBulk(append(dst, name...), value)
		size += nameLen + len(value)
	}
	if m.tombstones && rec.Value == nil {
		dst = append(dst, respTombstone...)
		size += len(TombstoneField) + len(TombstoneValue)
	} else if m.seal != nil {
		begin := len(scratch)
		scratch = m.seal.AppendSeal(scratch, rec.Value, m.valueField)
		pair(m.respValueName, len(m.valueField), scratch[begin:])
		dst = append(dst, m.respKeyIDPair...)
		size += len(m.keyIDPair[0].(string)) + len(m.keyIDPair[1].(string))
	} else {
		pair(m.respValueName, len(m.valueField), rec.Value)
	}
	if m.keyField != "" && rec.Key != nil {
		pair(m.respKeyName, len(m.keyField), rec.Key)
	}
	if m.headersPrefix != "" {
		for i := range rec.Headers {
			h := &rec.Headers[i]
			value := h.Value
			if m.seal != nil && slices.Contains(m.sealHeaders, h.Key) {
				begin := len(scratch)
				scratch = m.seal.AppendSeal(scratch, h.Value, m.headersPrefix+h.Key)
				value = scratch[begin:]
			}
			// The field name is the prefix and the header's name, written
			// as one bulk string without concatenating them first.
			dst = appendHeader(dst, '$', len(m.headersPrefix)+len(h.Key))
			dst = append(append(append(dst, m.headersPrefix...), h.Key...), '\r', '\n')
			dst = appendBulk(dst, value)
			size += len(m.headersPrefix) + len(h.Key) + len(value)
		}
	}
	for i, f := range m.metadata {
		dst = append(dst, m.respMetaNames[i]...)
		size += m.metaNameLens[i]
		var n int
		switch f {
		case metaTopic:
			dst = appendBulk(dst, rec.Topic)
			size += len(rec.Topic)
			continue
		case metaPartition:
			dst, n = nums.partition.appendTo(dst, int64(rec.Partition))
		case metaOffset:
			dst, n = nums.offset.appendTo(dst, rec.Offset)
		case metaTimestamp:
			dst, n = nums.timestamp.appendTo(dst, rec.Timestamp.UnixMilli())
		}
		size += n
	}
	if m.maxEntryBytes > 0 && size > m.maxEntryBytes {
		return dst[:start], scratch, fmt.Errorf("%w: %d bytes > %d", ErrEntryTooLarge, size, m.maxEntryBytes)
	}
	return dst, scratch, nil
}

// respNumbers remembers the metadata numbers of the last record a write
// encoded. A batch is mostly runs of one partition: the partition repeats,
// each offset is the one before plus one, and many records share their
// millisecond, so most numbers are copied from here instead of formatted
// (see BenchmarkEncodeBatch).
type respNumbers struct {
	partition, offset, timestamp cachedBulkInt
}

// cachedBulkInt is the last number appendTo encoded.
type cachedBulkInt struct {
	v    int64
	bulk []byte // v as appendBulkInt encodes it; empty: nothing cached
	n    int    // the number of digits of v
}

// appendTo appends v as appendBulkInt does: from the cache when v is the
// cached number, or the one after it and has as many digits.
func (c *cachedBulkInt) appendTo(dst []byte, v int64) ([]byte, int) {
	if len(c.bulk) > 0 {
		if v == c.v {
			return append(dst, c.bulk...), c.n
		}
		if v > 0 && v-1 == c.v && incrementDigits(c.bulk[len(c.bulk)-2-c.n:len(c.bulk)-2]) {
			c.v = v
			return append(dst, c.bulk...), c.n
		}
	}
	start := len(dst)
	dst, n := appendBulkInt(dst, v)
	if v >= 0 { // a negative number is formatted through strconv each time
		c.v, c.n, c.bulk = v, n, append(c.bulk[:0], dst[start:]...)
	} else {
		c.bulk = c.bulk[:0]
	}
	return dst, n
}

// incrementDigits adds one to the decimal number d in place, and reports
// false when the sum has one more digit than d (d then holds zeros).
func incrementDigits(d []byte) bool {
	for i := len(d) - 1; i >= 0; i-- {
		if d[i] != '9' {
			d[i]++
			return true
		}
		d[i] = '0'
	}
	return false
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func entrySize(pairs []any) int {
	n := 0
	for _, v := range pairs {
		switch v := v.(type) {
		case string:
			n += len(v)
		case []byte:
			n += len(v)
		}
	}
	return n
}

// appendJSONFields appends the members of the top-level JSON object in value
// in document order: strings as their text, every other value (numbers,
// booleans, null, nested objects and arrays) as its JSON text.
func appendJSONFields(args []any, value []byte) ([]any, error) {
	dec := json.NewDecoder(bytes.NewReader(value))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return args, fmt.Errorf("%w: %v", ErrInvalidJSON, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return args, fmt.Errorf("%w: top level is not an object", ErrInvalidJSON)
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return args, fmt.Errorf("%w: %v", ErrInvalidJSON, err)
		}
		name, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return args, fmt.Errorf("%w: field %q: %v", ErrInvalidJSON, name, err)
		}
		if len(raw) > 0 && raw[0] == '"' {
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return args, fmt.Errorf("%w: field %q: %v", ErrInvalidJSON, name, err)
			}
			args = append(args, name, s)
			continue
		}
		args = append(args, name, []byte(raw))
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return args, fmt.Errorf("%w: %v", ErrInvalidJSON, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return args, fmt.Errorf("%w: trailing data after the object", ErrInvalidJSON)
	}
	return args, nil
}
