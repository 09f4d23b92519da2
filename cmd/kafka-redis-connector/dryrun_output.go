package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// humanValueLimit is how many bytes of a value the human-readable output
// shows; --json shows them all.
const humanValueLimit = 200

// writeHuman prints one preview for a person: the record, then the XADD
// with one field a line, or the error and what errors.policy would do.
func (p *entryPreviewer) writeHuman(w io.Writer, e entryPreview) {
	r := e.rec
	key := "no key"
	if r.Key != nil {
		key = "key " + quoteValue(r.Key)
	}
	fmt.Fprintf(w, "%s/%d offset %d  %s  %s\n", r.Topic, r.Partition, r.Offset, formatTimestamp(r.Timestamp), key)
	if e.err != nil {
		if e.stream != "" {
			fmt.Fprintf(w, "  stream %s\n", quoteIfUnclear(e.stream))
		}
		fmt.Fprintf(w, "  error %s: %v\n  -> %s\n", e.reason, e.err, p.policyAction())
		return
	}
	cmd := []string{"XADD", quoteIfUnclear(e.stream)}
	cmd = append(cmd, p.trim...)
	cmd = append(cmd, entryID)
	note := ""
	if e.fallback {
		note = "  (stream.fallback_key: the key template does not resolve for this record)"
	}
	fmt.Fprintf(w, "  %s%s\n", strings.Join(cmd, " "), note)
	width := 0
	for _, f := range e.fields {
		width = max(width, len(f.name))
	}
	for _, f := range e.fields {
		sealed := ""
		if p.isSealed(f.name) {
			sealed = "  (sealed with key " + p.keyID + "; shown in clear)"
		}
		fmt.Fprintf(w, "    %-*s %s%s\n", width, f.name, quoteValue(f.value), sealed)
	}
}

func (p *entryPreviewer) isSealed(field string) bool {
	for _, s := range p.sealed {
		if s == field {
			return true
		}
	}
	return false
}

// quoteValue quotes b as a Go string, cut after humanValueLimit bytes.
func quoteValue(b []byte) string {
	if len(b) <= humanValueLimit {
		return strconv.Quote(string(b))
	}
	return strconv.Quote(string(b[:humanValueLimit])) + fmt.Sprintf("... (%d bytes)", len(b))
}

// quoteIfUnclear leaves a printable stream key without spaces as it is.
func quoteIfUnclear(s string) string {
	if s == "" || strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == '"' || r > '~' }) {
		return strconv.Quote(s)
	}
	return s
}

// previewJSON is one --json line. Text that is not UTF-8 (a binary value or
// key) is given in base64 and its field named in base64_fields.
type previewJSON struct {
	Topic        string         `json:"topic"`
	Partition    int32          `json:"partition"`
	Offset       int64          `json:"offset"`
	Timestamp    string         `json:"timestamp"`
	Key          *string        `json:"key"`
	KeyBase64    bool           `json:"key_base64,omitempty"`
	Stream       string         `json:"stream,omitempty"`
	Fallback     bool           `json:"fallback,omitempty"`
	ID           string         `json:"id,omitempty"`
	Trim         *trimJSON      `json:"trim,omitempty"`
	Fields       *orderedFields `json:"fields,omitempty"`
	Base64Fields []string       `json:"base64_fields,omitempty"`
	SealedFields []string       `json:"sealed_fields,omitempty"`
	Error        *previewError  `json:"error,omitempty"`
}

type trimJSON struct {
	Strategy  string `json:"strategy"`
	Approx    bool   `json:"approx"`
	Threshold int64  `json:"threshold"`
}

type previewError struct {
	Reason  string `json:"reason"`
	Message string `json:"message"`
	Policy  string `json:"policy"`
	Action  string `json:"action"`
}

// orderedFields marshals entry fields as a JSON object in entry order.
type orderedFields struct{ names, values []string }

func (o *orderedFields) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i := range o.names {
		if i > 0 {
			buf.WriteByte(',')
		}
		k, _ := json.Marshal(o.names[i])
		v, _ := json.Marshal(o.values[i])
		buf.Write(k)
		buf.WriteByte(':')
		buf.Write(v)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// textOrBase64 returns b as text, or in base64 when it is not UTF-8.
func textOrBase64(b []byte) (string, bool) {
	if utf8.Valid(b) {
		return string(b), false
	}
	return base64.StdEncoding.EncodeToString(b), true
}

func (p *entryPreviewer) writeJSON(w io.Writer, e entryPreview) error {
	r := e.rec
	out := previewJSON{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset,
		Timestamp: formatTimestamp(r.Timestamp), Stream: e.stream, Fallback: e.fallback}
	if r.Key != nil {
		k, b64 := textOrBase64(r.Key)
		out.Key, out.KeyBase64 = &k, b64
	}
	if e.err != nil {
		out.Error = &previewError{Reason: e.reason, Message: e.err.Error(), Policy: string(p.policy), Action: p.policyAction()}
	} else {
		out.ID = entryID
		if p.trim != nil {
			n, _ := strconv.ParseInt(p.trim[2], 10, 64)
			out.Trim = &trimJSON{Strategy: p.trim[0], Approx: p.trim[1] == "~", Threshold: n}
		}
		out.Fields = &orderedFields{}
		for _, f := range e.fields {
			v, b64 := textOrBase64(f.value)
			out.Fields.names = append(out.Fields.names, f.name)
			out.Fields.values = append(out.Fields.values, v)
			if b64 {
				out.Base64Fields = append(out.Base64Fields, f.name)
			}
			if p.isSealed(f.name) {
				out.SealedFields = append(out.SealedFields, f.name)
			}
		}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
