package schemaregistry

import (
	"fmt"
	"math/big"
	"strconv"
	"time"

	"github.com/hamba/avro/v2"
)

// maxDepth bounds the nesting a payload may make the decoders recurse
// into (recursive schemas, arrays of arrays).
const maxDepth = 64

// compileAvro parses an Avro schema after the schemas it references, which
// define named types it may use.
func compileAvro(text string, refs []reference) (avro.Schema, error) {
	cache := &avro.SchemaCache{}
	for _, ref := range refs {
		if _, err := avro.ParseWithCache(ref.schema.Schema, "", cache); err != nil {
			return nil, fmt.Errorf("referenced schema %s: %w", ref.name, err)
		}
	}
	return avro.ParseWithCache(text, "", cache)
}

// appendAvroJSON appends the JSON rendering of the Avro binary payload of
// schema s; the payload must be consumed exactly.
func appendAvroJSON(dst []byte, s avro.Schema, payload []byte) ([]byte, error) {
	r := avro.NewReader(nil, 0).Reset(payload)
	dst = appendAvro(dst, r, s, 0)
	if r.Error != nil {
		return dst, r.Error
	}
	// A reader past the end has reported it; bytes left over mean the
	// payload was written with another schema.
	if n := r.Peek(); r.Error == nil {
		return dst, fmt.Errorf("avro: trailing bytes after the value (next 0x%02x): written with another schema?", n)
	}
	return dst, nil
}

func appendAvro(dst []byte, r *avro.Reader, s avro.Schema, depth int) []byte {
	if depth > maxDepth {
		r.ReportError("decode", "nested deeper than "+strconv.Itoa(maxDepth))
		return dst
	}
	if r.Error != nil {
		return dst
	}
	switch s := s.(type) {
	case *avro.RefSchema:
		return appendAvro(dst, r, s.Schema(), depth+1)
	case *avro.NullSchema:
		return append(dst, "null"...)
	case *avro.PrimitiveSchema:
		return appendAvroPrimitive(dst, r, s)
	case *avro.RecordSchema:
		dst = append(dst, '{')
		for i, f := range s.Fields() {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(appendString(dst, f.Name()), ':')
			dst = appendAvro(dst, r, f.Type(), depth+1)
		}
		return append(dst, '}')
	case *avro.EnumSchema:
		i := r.ReadInt()
		sym, ok := s.Symbol(int(i))
		if !ok {
			r.ReportError("decode enum", fmt.Sprintf("symbol index %d out of range for %s", i, s.FullName()))
			return dst
		}
		return appendString(dst, sym)
	case *avro.ArraySchema:
		dst = append(dst, '[')
		first := true
		r.ReadArrayCB(func(r *avro.Reader) bool {
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = appendAvro(dst, r, s.Items(), depth+1)
			return r.Error == nil
		})
		return append(dst, ']')
	case *avro.MapSchema:
		dst = append(dst, '{')
		first := true
		r.ReadMapCB(func(r *avro.Reader, key string) bool {
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = append(appendString(dst, key), ':')
			dst = appendAvro(dst, r, s.Values(), depth+1)
			return r.Error == nil
		})
		return append(dst, '}')
	case *avro.UnionSchema:
		// The value of the branch taken, without Avro JSON's {"type": v}
		// wrapper: readers want the value.
		i := r.ReadLong()
		types := s.Types()
		if i < 0 || i >= int64(len(types)) {
			r.ReportError("decode union", fmt.Sprintf("branch %d of %d", i, len(types)))
			return dst
		}
		return appendAvro(dst, r, types[i], depth+1)
	case *avro.FixedSchema:
		b := make([]byte, s.Size())
		r.Read(b)
		if ls := s.Logical(); ls != nil {
			switch ls.Type() {
			case avro.Decimal:
				return appendDecimal(dst, twosComplement(b), ls.(*avro.DecimalLogicalSchema).Scale())
			case avro.Duration:
				if len(b) == 12 {
					le := func(p []byte) uint64 {
						return uint64(p[0]) | uint64(p[1])<<8 | uint64(p[2])<<16 | uint64(p[3])<<24
					}
					dst = append(dst, `{"months":`...)
					dst = strconv.AppendUint(dst, le(b[0:4]), 10)
					dst = append(dst, `,"days":`...)
					dst = strconv.AppendUint(dst, le(b[4:8]), 10)
					dst = append(dst, `,"milliseconds":`...)
					dst = strconv.AppendUint(dst, le(b[8:12]), 10)
					return append(dst, '}')
				}
			}
		}
		return appendBytes(dst, b)
	}
	r.ReportError("decode", fmt.Sprintf("unsupported schema type %s", s.Type()))
	return dst
}

func appendAvroPrimitive(dst []byte, r *avro.Reader, s *avro.PrimitiveSchema) []byte {
	var logical avro.LogicalType
	if ls := s.Logical(); ls != nil {
		logical = ls.Type()
	}
	switch s.Type() {
	case avro.Null:
		return append(dst, "null"...)
	case avro.Boolean:
		return strconv.AppendBool(dst, r.ReadBool())
	case avro.Int:
		v := r.ReadInt()
		switch logical {
		case avro.Date:
			return appendDate(dst, int64(v))
		case avro.TimeMillis:
			return appendTimeOfDay(dst, time.Duration(v)*time.Millisecond)
		}
		return strconv.AppendInt(dst, int64(v), 10)
	case avro.Long:
		v := r.ReadLong()
		switch logical {
		case avro.TimeMicros:
			return appendTimeOfDay(dst, time.Duration(v)*time.Microsecond)
		case avro.TimestampMillis:
			return appendTimestamp(dst, time.UnixMilli(v))
		case avro.TimestampMicros:
			return appendTimestamp(dst, time.UnixMicro(v))
		case avro.LocalTimestampMillis:
			return appendLocalTimestamp(dst, time.UnixMilli(v))
		case avro.LocalTimestampMicros:
			return appendLocalTimestamp(dst, time.UnixMicro(v))
		}
		return strconv.AppendInt(dst, v, 10)
	case avro.Float:
		return appendFloat(dst, float64(r.ReadFloat()), 32)
	case avro.Double:
		return appendFloat(dst, r.ReadDouble(), 64)
	case avro.String:
		return appendString(dst, r.ReadString())
	case avro.Bytes:
		b := r.ReadBytes()
		if logical == avro.Decimal {
			return appendDecimal(dst, twosComplement(b), s.Logical().(*avro.DecimalLogicalSchema).Scale())
		}
		return appendBytes(dst, b)
	}
	r.ReportError("decode", fmt.Sprintf("unsupported primitive %s", s.Type()))
	return dst
}

// twosComplement reads b as a big-endian two's-complement integer, the
// unscaled value of an Avro decimal.
func twosComplement(b []byte) *big.Int {
	v := new(big.Int).SetBytes(b)
	if len(b) > 0 && b[0]&0x80 != 0 {
		v.Sub(v, new(big.Int).Lsh(big.NewInt(1), uint(len(b))*8))
	}
	return v
}
