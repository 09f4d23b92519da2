package sink_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafka-redis-connector/kafka-redis-connector/sink"
)

func TestParseStreamKeyTemplateRejects(t *testing.T) {
	tests := []struct {
		name     string
		template string
		wantMsg  string // a part the error message must contain
	}{
		{"empty", "", "empty"},
		{"unknown placeholder", "events:{nope}", "unknown placeholder {nope}"},
		{"placeholder names are case sensitive", "{Topic}", "unknown placeholder {Topic}"},
		{"empty placeholder", "a{}b", "unknown placeholder {}"},
		{"header without a name", "{header:}", "unknown placeholder {header:}"},
		{"bare header", "{header}", "unknown placeholder {header}"},
		{"nested braces", "{{topic}}", "unknown placeholder {{topic}"},
		{"unclosed brace alone", "{", "unclosed"},
		{"unclosed placeholder", "events:{topic", "unclosed"},
		{"unclosed after a valid placeholder", "{topic}:{partition", "unclosed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl, err := sink.ParseStreamKeyTemplate(tt.template)
			if err == nil {
				t.Fatalf("got template %q and nil error, want an error", tmpl)
			}
			if tmpl != nil {
				t.Errorf("got template %q with the error, want nil", tmpl)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "sink: ") || !strings.Contains(msg, tt.wantMsg) {
				t.Errorf("got error %q, want it prefixed %q and containing %q", msg, "sink: ", tt.wantMsg)
			}
		})
	}
}

func TestStreamKeyTemplateAppendKey(t *testing.T) {
	base := func() *kgo.Record {
		return &kgo.Record{
			Topic:     "orders",
			Partition: 7,
			Key:       []byte("user-42"),
			Headers: []kgo.RecordHeader{
				{Key: "tenant", Value: []byte("acme")},
				{Key: "empty", Value: []byte{}},
				{Key: "nil", Value: nil},
				{Key: "a:b", Value: []byte("colon")},
			},
		}
	}
	with := func(f func(r *kgo.Record)) *kgo.Record {
		r := base()
		f(r)
		return r
	}
	tests := []struct {
		name          string
		template      string
		rec           *kgo.Record
		want          string
		wantOK        bool
		wantPerRecord bool
	}{
		{"literal only", "events", base(), "events", true, false},
		{"topic", "{topic}", base(), "orders", true, false},
		{"partition", "{partition}", base(), "7", true, false},
		{"partition zero", "p{partition}", with(func(r *kgo.Record) { r.Partition = 0 }), "p0", true, false},
		{"partition large", "p{partition}", with(func(r *kgo.Record) { r.Partition = 2147483647 }), "p2147483647", true, false},
		{"key", "{key}", base(), "user-42", true, true},
		{"header", "{header:tenant}", base(), "acme", true, true},
		{"header name with a colon", "{header:a:b}", base(), "colon", true, true},
		{"mixed", "s:{topic}:{partition}:{header:tenant}:{key}", base(), "s:orders:7:acme:user-42", true, true},
		{"topic and partition only", "events:{topic}.{partition}!", base(), "events:orders.7!", true, false},
		{"adjacent placeholders", "{topic}{partition}{topic}", base(), "orders7orders", true, false},
		{"stray closing brace is literal", "a}b", base(), "a}b", true, false},
		{"closing brace after a placeholder", "{topic}}", base(), "orders}", true, false},
		{"leading closing brace", "}{topic}", base(), "}orders", true, false},
		{"empty key resolves to empty", "k:{key}", with(func(r *kgo.Record) { r.Key = []byte{} }), "k:", true, true},
		{"nil key is unresolvable", "k:{key}", with(func(r *kgo.Record) { r.Key = nil }), "", false, true},
		{"missing header is unresolvable", "h:{header:region}", base(), "", false, true},
		{"no headers at all", "h:{header:tenant}", with(func(r *kgo.Record) { r.Headers = nil }), "", false, true},
		{"header names are case sensitive", "h:{header:Tenant}", base(), "", false, true},
		{"empty header value", "h:{header:empty}:x", base(), "h::x", true, true},
		{"nil header value", "h:{header:nil}:x", base(), "h::x", true, true},
		{
			"binary key kept as is", "k:{key}",
			with(func(r *kgo.Record) { r.Key = []byte{0x00, 0xff, 0xfe, '{', '}'} }),
			"k:\x00\xff\xfe{}", true, true,
		},
		{
			"binary header kept as is", "{header:bin}",
			with(func(r *kgo.Record) { r.Headers = []kgo.RecordHeader{{Key: "bin", Value: []byte{0x00, 0x80}}} }),
			"\x00\x80", true, true,
		},
		{
			"unicode topic", "{topic}",
			with(func(r *kgo.Record) { r.Topic = "données" }),
			"données", true, false,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl, err := sink.ParseStreamKeyTemplate(tt.template)
			if err != nil {
				t.Fatalf("ParseStreamKeyTemplate(%q): got error %v, want nil", tt.template, err)
			}
			if got := tmpl.String(); got != tt.template {
				t.Errorf("String(): got %q, want %q", got, tt.template)
			}
			if got := tmpl.PerRecord(); got != tt.wantPerRecord {
				t.Errorf("PerRecord(): got %v, want %v", got, tt.wantPerRecord)
			}
			got, ok := tmpl.AppendKey(nil, tt.rec)
			if ok != tt.wantOK {
				t.Fatalf("AppendKey ok: got %v (key %q), want %v", ok, got, tt.wantOK)
			}
			if ok && !bytes.Equal(got, []byte(tt.want)) {
				t.Errorf("AppendKey: got %q, want %q", got, tt.want)
			}
			// The key is appended to dst, never written over it.
			prefix := []byte("prefix|")
			got, ok = tmpl.AppendKey(prefix, tt.rec)
			if ok != tt.wantOK {
				t.Fatalf("AppendKey(prefix) ok: got %v, want %v", ok, tt.wantOK)
			}
			if !bytes.HasPrefix(got, []byte("prefix|")) {
				t.Errorf("AppendKey(prefix): got %q, want it to start with %q", got, "prefix|")
			}
			if ok && string(got) != "prefix|"+tt.want {
				t.Errorf("AppendKey(prefix): got %q, want %q", got, "prefix|"+tt.want)
			}
		})
	}
}

// A template is reused for every record: rendering one must not leave state
// behind that changes the next.
func TestStreamKeyTemplateReuse(t *testing.T) {
	tmpl, err := sink.ParseStreamKeyTemplate("{topic}/{key}")
	if err != nil {
		t.Fatal(err)
	}
	recs := []struct {
		rec    *kgo.Record
		want   string
		wantOK bool
	}{
		{&kgo.Record{Topic: "a", Key: []byte("1")}, "a/1", true},
		{&kgo.Record{Topic: "b"}, "", false},
		{&kgo.Record{Topic: "c", Key: []byte("3")}, "c/3", true},
	}
	buf := make([]byte, 0, 64)
	for i, r := range recs {
		got, ok := tmpl.AppendKey(buf[:0], r.rec)
		if ok != r.wantOK || (ok && string(got) != r.want) {
			t.Errorf("record %d: got %q ok=%v, want %q ok=%v", i, got, ok, r.want, r.wantOK)
		}
	}
}
