package sink

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
)

type partKind uint8

const (
	partLiteral partKind = iota
	partTopic
	partPartition
	partKey
	partHeader
)

type templatePart struct {
	kind partKind
	text string // literal text, or the header name
}

// StreamKeyTemplate renders the stream key of a record from a template such
// as "events:{topic}:{partition}". Placeholders: {topic}, {partition}, {key}
// and {header:NAME}.
type StreamKeyTemplate struct {
	src   string
	parts []templatePart
	// perRecord is set when the key depends on the record's key or
	// headers; otherwise it can be reused for a whole partition.
	perRecord bool
}

// ParseStreamKeyTemplate parses a stream key template. It rejects unknown
// placeholders and unbalanced braces.
func ParseStreamKeyTemplate(s string) (*StreamKeyTemplate, error) {
	if s == "" {
		return nil, fmt.Errorf("sink: empty stream key template")
	}
	t := &StreamKeyTemplate{src: s}
	rest := s
	for rest != "" {
		// A '}' outside a placeholder is literal text, as config validation has it.
		open := strings.IndexByte(rest, '{')
		if open < 0 {
			t.parts = append(t.parts, templatePart{kind: partLiteral, text: rest})
			break
		}
		if open > 0 {
			t.parts = append(t.parts, templatePart{kind: partLiteral, text: rest[:open]})
		}
		end := strings.IndexByte(rest[open:], '}')
		if end < 0 {
			return nil, fmt.Errorf("sink: stream key template %q: unclosed '{'", s)
		}
		name := rest[open+1 : open+end]
		switch {
		case name == "topic":
			t.parts = append(t.parts, templatePart{kind: partTopic})
		case name == "partition":
			t.parts = append(t.parts, templatePart{kind: partPartition})
		case name == "key":
			t.parts = append(t.parts, templatePart{kind: partKey})
			t.perRecord = true
		case strings.HasPrefix(name, "header:") && len(name) > len("header:"):
			t.parts = append(t.parts, templatePart{kind: partHeader, text: name[len("header:"):]})
			t.perRecord = true
		default:
			return nil, fmt.Errorf("sink: stream key template %q: unknown placeholder {%s}", s, name)
		}
		rest = rest[open+end+1:]
	}
	return t, nil
}

// String returns the template's source text.
func (t *StreamKeyTemplate) String() string { return t.src }

// PerRecord reports whether the key depends on more than the record's topic
// and partition.
func (t *StreamKeyTemplate) PerRecord() bool { return t.perRecord }

// AppendKey appends the rendered key of rec to dst. ok is false when a
// placeholder cannot be resolved: {key} of a record without a key, or
// {header:NAME} of a record without that header.
func (t *StreamKeyTemplate) AppendKey(dst []byte, rec *kgo.Record) (out []byte, ok bool) {
	for _, p := range t.parts {
		switch p.kind {
		case partLiteral:
			dst = append(dst, p.text...)
		case partTopic:
			dst = append(dst, rec.Topic...)
		case partPartition:
			dst = strconv.AppendInt(dst, int64(rec.Partition), 10)
		case partKey:
			if rec.Key == nil {
				return dst, false
			}
			dst = append(dst, rec.Key...)
		case partHeader:
			v, found := headerValue(rec, p.text)
			if !found {
				return dst, false
			}
			dst = append(dst, v...)
		}
	}
	return dst, true
}

func headerValue(rec *kgo.Record, name string) ([]byte, bool) {
	for i := range rec.Headers {
		if rec.Headers[i].Key == name {
			return rec.Headers[i].Value, true
		}
	}
	return nil, false
}
