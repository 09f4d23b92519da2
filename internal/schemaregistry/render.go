package schemaregistry

import (
	"encoding/base64"
	"math"
	"math/big"
	"strconv"
	"time"
	"unicode/utf8"
)

// The renderings shared by the formats (see the package comment): what a
// stream reader gets for each kind of value, the same for Avro and
// Protobuf where the two have the same kind.

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				dst = append(dst, s[start:i]...)
				dst = append(dst, `\ufffd`...)
				i++
				start = i
				continue
			}
			i += size
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
		start = i
	}
	return append(append(dst, s[start:]...), '"')
}

// appendBytes appends b as a JSON string of its standard, padded base64.
func appendBytes(dst, b []byte) []byte {
	dst = append(dst, '"')
	dst = base64.StdEncoding.AppendEncode(dst, b)
	return append(dst, '"')
}

// appendFloat appends f as a JSON number; NaN and the infinities, which
// JSON lacks, as the strings "NaN", "Infinity" and "-Infinity" (as
// protojson does).
func appendFloat(dst []byte, f float64, bits int) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(dst, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(dst, `"-Infinity"`...)
	}
	return strconv.AppendFloat(dst, f, 'g', -1, bits)
}

// appendDecimal appends unscaled × 10^-scale as a JSON string with exactly
// scale digits after the point: a string, because a JSON number would be
// read as a binary float by most readers and lose digits.
func appendDecimal(dst []byte, unscaled *big.Int, scale int) []byte {
	digits := unscaled.String()
	neg := digits[0] == '-'
	if neg {
		digits = digits[1:]
	}
	dst = append(dst, '"')
	if neg {
		dst = append(dst, '-')
	}
	if scale <= 0 {
		dst = append(dst, digits...)
		for range -scale {
			dst = append(dst, '0')
		}
		return append(dst, '"')
	}
	for len(digits) <= scale {
		digits = "0" + digits
	}
	point := len(digits) - scale
	dst = append(dst, digits[:point]...)
	dst = append(dst, '.')
	dst = append(dst, digits[point:]...)
	return append(dst, '"')
}

// appendTimestamp appends t, in UTC, as an RFC 3339 JSON string with as
// many fraction digits as needed (none for whole seconds).
func appendTimestamp(dst []byte, t time.Time) []byte {
	dst = append(dst, '"')
	dst = t.UTC().AppendFormat(dst, time.RFC3339Nano)
	return append(dst, '"')
}

// appendLocalTimestamp appends a timestamp without a time zone.
func appendLocalTimestamp(dst []byte, t time.Time) []byte {
	dst = append(dst, '"')
	dst = t.UTC().AppendFormat(dst, "2006-01-02T15:04:05.999999999")
	return append(dst, '"')
}

// appendDate appends days since the Unix epoch as "YYYY-MM-DD".
func appendDate(dst []byte, days int64) []byte {
	dst = append(dst, '"')
	dst = time.Unix(days*86400, 0).UTC().AppendFormat(dst, time.DateOnly)
	return append(dst, '"')
}

// appendTimeOfDay appends a time since midnight as "HH:MM:SS" with a
// fraction when it has one.
func appendTimeOfDay(dst []byte, d time.Duration) []byte {
	dst = append(dst, '"')
	dst = time.Unix(0, 0).UTC().Add(d).AppendFormat(dst, "15:04:05.999999")
	return append(dst, '"')
}
