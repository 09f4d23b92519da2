package sink

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// appendObjectFields appends the members of doc, a JSON object a decoder
// rendered, exactly as appendJSONFields would, but with a scan of the
// document's structure instead of a general JSON decoder: a decoder's
// output is compact, well-formed JSON (json.Compact checks the JSON Schema
// payloads), and the general decoder costs more than decoding the Avro or
// Protobuf payload. Anything it does not expect is handed to
// appendJSONFields, which reports it.
func appendObjectFields(args []any, doc []byte) ([]any, error) {
	start := len(args)
	fallback := func() ([]any, error) { return appendJSONFields(args[:start], doc) }
	if len(doc) < 2 || doc[0] != '{' {
		return fallback()
	}
	i := 1
	if doc[i] == '}' {
		if i+1 != len(doc) {
			return fallback()
		}
		return args, nil
	}
	for {
		if i >= len(doc) || doc[i] != '"' {
			return fallback()
		}
		end := stringEnd(doc, i)
		if end < 0 || end >= len(doc) || doc[end] != ':' {
			return fallback()
		}
		name, ok := jsonText(doc[i:end])
		if !ok {
			return fallback()
		}
		i = end + 1
		end = valueEnd(doc, i)
		if end <= i || end >= len(doc) {
			return fallback()
		}
		if v := doc[i:end]; v[0] == '"' {
			s, ok := jsonText(v)
			if !ok {
				return fallback()
			}
			args = append(args, name, s)
		} else {
			args = append(args, name, v[:len(v):len(v)])
		}
		switch doc[end] {
		case ',':
			i = end + 1
		case '}':
			if end+1 != len(doc) {
				return fallback()
			}
			return args, nil
		default:
			return fallback()
		}
	}
}

// stringEnd returns the index after the JSON string starting at doc[i],
// or -1.
func stringEnd(doc []byte, i int) int {
	for j := i + 1; j < len(doc); j++ {
		switch doc[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

// valueEnd returns the index after the compact JSON value starting at
// doc[i], or -1.
func valueEnd(doc []byte, i int) int {
	if i >= len(doc) {
		return -1
	}
	switch doc[i] {
	case '"':
		return stringEnd(doc, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(doc); j++ {
			switch doc[j] {
			case '"':
				end := stringEnd(doc, j)
				if end < 0 {
					return -1
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	}
	j := i
	for j < len(doc) && doc[j] != ',' && doc[j] != '}' && doc[j] != ']' {
		j++
	}
	return j
}

// jsonText returns the text of the JSON string s (quotes included), with
// invalid UTF-8 replaced as encoding/json replaces it.
func jsonText(s []byte) (string, bool) {
	if bytes.IndexByte(s, '\\') < 0 && utf8.Valid(s) {
		return string(s[1 : len(s)-1]), true
	}
	var out string
	if err := json.Unmarshal(s, &out); err != nil {
		return "", false
	}
	return out, true
}
