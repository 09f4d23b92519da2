package sink_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
	"github.com/kafka-redis-connector/kafka-redis-connector/sink"
)

// streamConfig returns the default stream configuration changed by edit.
func streamConfig(edit func(*config.Stream)) config.Stream {
	cfg := config.Default().Stream
	if edit != nil {
		edit(&cfg)
	}
	return cfg
}

// flatten renders entry arguments as strings; every argument must be a
// string or a []byte, the two types the mapping promises.
func flatten(t *testing.T, args []any) []string {
	t.Helper()
	out := make([]string, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case string:
			out[i] = v
		case []byte:
			if v == nil {
				t.Errorf("argument %d: got a nil []byte, want a non-nil one", i)
			}
			out[i] = string(v)
		default:
			t.Errorf("argument %d: got type %T, want string or []byte", i, a)
		}
	}
	return out
}

// testRecord is the record most mapping tests start from.
func testRecord() *kgo.Record {
	return &kgo.Record{
		Topic:     "orders",
		Partition: 3,
		Offset:    42,
		Timestamp: time.UnixMilli(1700000000123),
		Key:       []byte("k1"),
		Value:     []byte("v1"),
	}
}

func TestNewFieldMappingRejects(t *testing.T) {
	tests := []struct {
		name string
		edit func(*config.Stream)
	}{
		{"unknown format", func(c *config.Stream) { c.Format = "xml" }},
		{"empty format", func(c *config.Stream) { c.Format = "" }},
		{"format is case sensitive", func(c *config.Stream) { c.Format = "JSON" }},
		{"unknown metadata field", func(c *config.Stream) { c.Metadata = []string{"topic", "leader_epoch"} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := sink.NewFieldMapping(streamConfig(tt.edit))
			if err == nil {
				t.Fatalf("got mapping %v and nil error, want an error", m)
			}
		})
	}
}

func TestFieldMappingRaw(t *testing.T) {
	meta := []string{"topic", "orders", "partition", "3", "offset", "42", "timestamp", "1700000000123"}
	with := func(f func(r *kgo.Record)) *kgo.Record {
		r := testRecord()
		f(r)
		return r
	}
	tests := []struct {
		name string
		edit func(*config.Stream)
		rec  *kgo.Record
		want []string
	}{
		{
			name: "defaults",
			rec:  testRecord(),
			want: append([]string{"value", "v1", "key", "k1"}, meta...),
		},
		{
			name: "binary value with NUL and invalid UTF-8",
			edit: func(c *config.Stream) { c.Metadata = nil },
			rec:  with(func(r *kgo.Record) { r.Value = []byte{0x00, 'a', 0xff, 0xfe, 0x00, 0xc3, 0x28} }),
			want: []string{"value", "\x00a\xff\xfe\x00\xc3\x28", "key", "k1"},
		},
		{
			name: "nil value is stored empty",
			edit: func(c *config.Stream) { c.Metadata = nil },
			rec:  with(func(r *kgo.Record) { r.Value = nil }),
			want: []string{"value", "", "key", "k1"},
		},
		{
			name: "custom value and key field names",
			edit: func(c *config.Stream) { c.ValueField, c.KeyField, c.Metadata = "payload", "id", nil },
			rec:  testRecord(),
			want: []string{"payload", "v1", "id", "k1"},
		},
		{
			name: "nil key omits the key field",
			rec:  with(func(r *kgo.Record) { r.Key = nil }),
			want: append([]string{"value", "v1"}, meta...),
		},
		{
			name: "empty non-nil key keeps the key field",
			edit: func(c *config.Stream) { c.Metadata = nil },
			rec:  with(func(r *kgo.Record) { r.Key = []byte{} }),
			want: []string{"value", "v1", "key", ""},
		},
		{
			name: "binary key kept as is",
			edit: func(c *config.Stream) { c.Metadata = nil },
			rec:  with(func(r *kgo.Record) { r.Key = []byte{0x00, 0xff} }),
			want: []string{"value", "v1", "key", "\x00\xff"},
		},
		{
			name: "empty key_field omits the key",
			edit: func(c *config.Stream) { c.KeyField = "" },
			rec:  testRecord(),
			want: append([]string{"value", "v1"}, meta...),
		},
		{
			name: "headers with a prefix, in record order",
			edit: func(c *config.Stream) { c.HeadersPrefix, c.Metadata = "h.", nil },
			rec: with(func(r *kgo.Record) {
				r.Headers = []kgo.RecordHeader{
					{Key: "z", Value: []byte("1")},
					{Key: "a", Value: []byte("2")},
					{Key: "nil", Value: nil},
					{Key: "bin", Value: []byte{0x00, 0xff}},
				}
			}),
			want: []string{"value", "v1", "key", "k1", "h.z", "1", "h.a", "2", "h.nil", "", "h.bin", "\x00\xff"},
		},
		{
			name: "empty headers_prefix omits headers",
			edit: func(c *config.Stream) { c.HeadersPrefix, c.Metadata = "", nil },
			rec:  with(func(r *kgo.Record) { r.Headers = []kgo.RecordHeader{{Key: "x", Value: []byte("1")}} }),
			want: []string{"value", "v1", "key", "k1"},
		},
		{
			name: "metadata in configured order",
			edit: func(c *config.Stream) { c.Metadata = []string{"timestamp", "offset", "topic", "partition"} },
			rec:  testRecord(),
			want: []string{"value", "v1", "key", "k1", "timestamp", "1700000000123", "offset", "42", "topic", "orders", "partition", "3"},
		},
		{
			name: "one metadata field",
			edit: func(c *config.Stream) { c.Metadata = []string{"offset"} },
			rec:  testRecord(),
			want: []string{"value", "v1", "key", "k1", "offset", "42"},
		},
		{
			name: "timestamp is Unix milliseconds, truncated",
			edit: func(c *config.Stream) { c.KeyField, c.Metadata = "", []string{"timestamp"} },
			rec:  with(func(r *kgo.Record) { r.Timestamp = time.Unix(1700000000, 999_999_999) }),
			want: []string{"value", "v1", "timestamp", "1700000000999"},
		},
		{
			name: "timestamp before the epoch",
			edit: func(c *config.Stream) { c.KeyField, c.Metadata = "", []string{"timestamp"} },
			rec:  with(func(r *kgo.Record) { r.Timestamp = time.UnixMilli(-1500) }),
			want: []string{"value", "v1", "timestamp", "-1500"},
		},
		{
			name: "large offset and partition",
			edit: func(c *config.Stream) { c.KeyField, c.Metadata = "", []string{"partition", "offset"} },
			rec:  with(func(r *kgo.Record) { r.Partition, r.Offset = 2147483647, 9223372036854775807 }),
			want: []string{"value", "v1", "partition", "2147483647", "offset", "9223372036854775807"},
		},
		{
			name: "max_entry_bytes zero means no limit",
			edit: func(c *config.Stream) { c.MaxEntryBytes, c.KeyField, c.Metadata = 0, "", nil },
			rec:  with(func(r *kgo.Record) { r.Value = make([]byte, 2<<20) }),
			want: []string{"value", string(make([]byte, 2<<20))},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := sink.NewFieldMapping(streamConfig(tt.edit))
			if err != nil {
				t.Fatalf("NewFieldMapping: got error %v, want nil", err)
			}
			prefix := []any{"xadd", "stream", "*"}
			args, _, err := m.AppendFields(slices.Clone(prefix), nil, tt.rec)
			if err != nil {
				t.Fatalf("AppendFields: got error %v, want nil", err)
			}
			got := flatten(t, args)
			want := append([]string{"xadd", "stream", "*"}, tt.want...)
			if !slices.Equal(got, want) {
				t.Errorf("AppendFields:\ngot  %q\nwant %q", got, want)
			}
		})
	}
}

func TestFieldMappingJSON(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*config.Stream)
		value string
		want  []string
	}{
		{
			name:  "strings are unquoted",
			value: `{"a":"x","b":""}`,
			want:  []string{"a", "x", "b", ""},
		},
		{
			name:  "string escapes are decoded",
			value: `{"s":"line\nbreak \"q\" \\ \u00e9 \ud83d\ude00 \/"}`,
			want:  []string{"s", "line\nbreak \"q\" \\ é 😀 /"},
		},
		{
			name:  "document order, not sorted",
			value: `{"z":1,"a":2,"m":3}`,
			want:  []string{"z", "1", "a", "2", "m", "3"},
		},
		{
			name:  "scalars as JSON text",
			value: `{"i":-12,"f":1.50e3,"big":12345678901234567890,"t":true,"F":false,"n":null}`,
			want:  []string{"i", "-12", "f", "1.50e3", "big", "12345678901234567890", "t", "true", "F", "false", "n", "null"},
		},
		{
			name:  "nested object and array as JSON text",
			value: `{"o":{"k":[1,"two",{"x":null}]},"arr":[true,"s"],"e":{},"ea":[]}`,
			want:  []string{"o", `{"k":[1,"two",{"x":null}]}`, "arr", `[true,"s"]`, "e", "{}", "ea", "[]"},
		},
		{
			name:  "escaped field name is decoded",
			value: `{"a\tb":1,"\u0063":2}`,
			want:  []string{"a\tb", "1", "c", "2"},
		},
		{
			name:  "whitespace around the object",
			value: " \n\t{ \"a\" : \"x\" , \"b\" : 2 }\r\n ",
			want:  []string{"a", "x", "b", "2"},
		},
		{
			name:  "key and metadata follow the JSON fields",
			edit:  func(c *config.Stream) { c.KeyField, c.Metadata = "key", []string{"offset", "topic"} },
			value: `{"a":1}`,
			want:  []string{"a", "1", "key", "k1", "offset", "42", "topic", "orders"},
		},
		{
			name:  "empty object with metadata has only metadata",
			edit:  func(c *config.Stream) { c.Metadata = []string{"partition"} },
			value: `{}`,
			want:  []string{"partition", "3"},
		},
		{
			name:  "value_field is not used",
			edit:  func(c *config.Stream) { c.ValueField = "value" },
			value: `{"value":"inner"}`,
			want:  []string{"value", "inner"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := sink.NewFieldMapping(streamConfig(func(c *config.Stream) {
				c.Format, c.KeyField, c.Metadata = "json", "", nil
				if tt.edit != nil {
					tt.edit(c)
				}
			}))
			if err != nil {
				t.Fatalf("NewFieldMapping: got error %v, want nil", err)
			}
			rec := testRecord()
			rec.Value = []byte(tt.value)
			args, _, err := m.AppendFields([]any{"xadd", "s", "*"}, nil, rec)
			if err != nil {
				t.Fatalf("AppendFields(%s): got error %v, want nil", tt.value, err)
			}
			got := flatten(t, args)
			want := append([]string{"xadd", "s", "*"}, tt.want...)
			if !slices.Equal(got, want) {
				t.Errorf("AppendFields(%s):\ngot  %q\nwant %q", tt.value, got, want)
			}
		})
	}
}

func TestFieldMappingErrors(t *testing.T) {
	jsonOnly := func(c *config.Stream) { c.Format, c.KeyField, c.Metadata = "json", "", nil }
	tests := []struct {
		name  string
		edit  func(*config.Stream)
		value []byte
		want  error
	}{
		{"not JSON", jsonOnly, []byte("hello"), sink.ErrInvalidJSON},
		{"empty value", jsonOnly, []byte{}, sink.ErrInvalidJSON},
		{"nil value", jsonOnly, nil, sink.ErrInvalidJSON},
		{"binary value", jsonOnly, []byte{0x00, 0xff}, sink.ErrInvalidJSON},
		{"top-level array", jsonOnly, []byte(`[{"a":1}]`), sink.ErrInvalidJSON},
		{"top-level string", jsonOnly, []byte(`"a"`), sink.ErrInvalidJSON},
		{"top-level number", jsonOnly, []byte(`1`), sink.ErrInvalidJSON},
		{"top-level null", jsonOnly, []byte(`null`), sink.ErrInvalidJSON},
		{"missing value", jsonOnly, []byte(`{"a":}`), sink.ErrInvalidJSON},
		{"missing colon", jsonOnly, []byte(`{"a" 1}`), sink.ErrInvalidJSON},
		{"non-string member name", jsonOnly, []byte(`{1:2}`), sink.ErrInvalidJSON},
		{"trailing comma", jsonOnly, []byte(`{"a":1,}`), sink.ErrInvalidJSON},
		{"unclosed object", jsonOnly, []byte(`{"a":1`), sink.ErrInvalidJSON},
		{"unclosed after a string member", jsonOnly, []byte(`{"a":"x","b":"y"`), sink.ErrInvalidJSON},
		{"invalid nested value", jsonOnly, []byte(`{"a":"x","b":[1,}`), sink.ErrInvalidJSON},
		{"trailing object", jsonOnly, []byte(`{"a":1} {"b":2}`), sink.ErrInvalidJSON},
		{"trailing garbage", jsonOnly, []byte(`{"a":1}x`), sink.ErrInvalidJSON},
		{"trailing closing brace", jsonOnly, []byte(`{"a":1}}`), sink.ErrInvalidJSON},
		{"empty object and nothing else gives no fields", jsonOnly, []byte(`{}`), sink.ErrInvalidJSON},
		{
			// "value"(5) + 6 bytes = 11 > 10.
			"raw entry over max_entry_bytes",
			func(c *config.Stream) { c.MaxEntryBytes, c.KeyField, c.Metadata = 10, "", nil },
			[]byte("123456"), sink.ErrEntryTooLarge,
		},
		{
			// Field names count: "value"(5)+"v"(1)+"offset"(6)+"42"(2) = 14 > 13.
			"metadata counts toward max_entry_bytes",
			func(c *config.Stream) { c.MaxEntryBytes, c.KeyField, c.Metadata = 13, "", []string{"offset"} },
			[]byte("v"), sink.ErrEntryTooLarge,
		},
		{
			// "a"(1)+"12345"(5)+"b"(1)+"1"(1) = 8 > 7.
			"json entry over max_entry_bytes",
			func(c *config.Stream) { jsonOnly(c); c.MaxEntryBytes = 7 },
			[]byte(`{"a":"12345","b":1}`), sink.ErrEntryTooLarge,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := sink.NewFieldMapping(streamConfig(tt.edit))
			if err != nil {
				t.Fatalf("NewFieldMapping: got error %v, want nil", err)
			}
			rec := testRecord()
			rec.Value = tt.value
			prefix := []any{"xadd", "s", "*"}
			args := make([]any, len(prefix), 64)
			copy(args, prefix)
			out, _, err := m.AppendFields(args, nil, rec)
			if !errors.Is(err, tt.want) {
				t.Fatalf("AppendFields(%q): got error %v, want errors.Is %v", tt.value, err, tt.want)
			}
			if !slices.Equal(flatten(t, out), []string{"xadd", "s", "*"}) {
				t.Errorf("AppendFields(%q) on error: got args %q, want them unchanged %q", tt.value, flatten(t, out), prefix)
			}
			if sink.Retryable(err) {
				t.Errorf("Retryable(%v): got true, want false", err)
			}
		})
	}
}

func TestFieldMappingMaxEntryBytesBoundary(t *testing.T) {
	// "value"(5) + value bytes; the limit is inclusive.
	tests := []struct {
		valueLen int
		wantErr  bool
	}{
		{4, false},
		{5, false},
		{6, true},
	}
	m, err := sink.NewFieldMapping(streamConfig(func(c *config.Stream) {
		c.MaxEntryBytes, c.KeyField, c.Metadata = 10, "", nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("value of %d bytes", tt.valueLen), func(t *testing.T) {
			rec := testRecord()
			rec.Value = make([]byte, tt.valueLen)
			_, _, err := m.AppendFields(nil, nil, rec)
			if gotErr := errors.Is(err, sink.ErrEntryTooLarge); gotErr != tt.wantErr {
				t.Errorf("got error %v, want ErrEntryTooLarge %v", err, tt.wantErr)
			}
		})
	}
}

// Numbers are formatted into the scratch arena. Entries built one after the
// other share it, so a later entry must not overwrite an earlier one's values,
// even when the arena grows.
func TestFieldMappingArenaKeepsEarlierEntries(t *testing.T) {
	m, err := sink.NewFieldMapping(streamConfig(func(c *config.Stream) {
		c.KeyField, c.Metadata = "", []string{"partition", "offset", "timestamp"}
	}))
	if err != nil {
		t.Fatal(err)
	}
	var (
		arena   = make([]byte, 0, 4) // small, so it is reallocated midway
		entries [][]any
	)
	for i := range 50 {
		rec := testRecord()
		rec.Partition, rec.Offset, rec.Timestamp = int32(i), int64(1000+i), time.UnixMilli(int64(2000+i))
		var args []any
		args, arena, err = m.AppendFields(nil, arena, rec)
		if err != nil {
			t.Fatalf("record %d: got error %v, want nil", i, err)
		}
		entries = append(entries, args)
	}
	for i, args := range entries {
		want := []string{"value", "v1", "partition", fmt.Sprint(i), "offset", fmt.Sprint(1000 + i), "timestamp", fmt.Sprint(2000 + i)}
		if got := flatten(t, args); !slices.Equal(got, want) {
			t.Errorf("entry %d after all were built: got %q, want %q", i, got, want)
		}
	}
}
