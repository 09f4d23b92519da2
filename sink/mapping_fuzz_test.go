package sink_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
	"github.com/kafka-redis-connector/kafka-redis-connector/encryption"
	"github.com/kafka-redis-connector/kafka-redis-connector/sink"
)

// pairs checks that args (after the XADD prefix) are field/value pairs of
// strings and non-nil []byte, and returns them as a field -> value list.
func pairs(t *testing.T, args []any) [][2]string {
	t.Helper()
	if len(args)%2 != 0 {
		t.Fatalf("got %d arguments, want field/value pairs", len(args))
	}
	var out [][2]string
	for i := 0; i < len(args); i += 2 {
		var kv [2]string
		for j, a := range args[i : i+2] {
			switch v := a.(type) {
			case string:
				kv[j] = v
			case []byte:
				if v == nil {
					t.Fatalf("argument %d is a nil []byte", i+j)
				}
				kv[j] = string(v)
			default:
				t.Fatalf("argument %d has type %T, want string or []byte", i+j, a)
			}
		}
		out = append(out, kv)
	}
	return out
}

// FuzzJSONFields: the json format accepts exactly the values that are one
// JSON object, and each member becomes one field: strings as their text,
// everything else as its JSON text.
func FuzzJSONFields(f *testing.F) {
	for _, seed := range []string{
		`{"a":1,"b":"x","c":{"d":[1,2]},"e":null,"f":true}`, `{}`, `{"a":1} `, `[1,2]`, `"s"`, `{"a":1}{"b":2}`,
		`{"a":"\u00e9\ud83d\ude00"}`, `{"a":1,}`, `{"dup":1,"dup":2}`, ``, `{"n":1e400}`, "{\"a\":\"\xff\"}",
	} {
		f.Add([]byte(seed))
	}
	m := sink.MappingForBenchmark(f, streamConfig(func(s *config.Stream) { s.Format = "json"; s.Metadata = []string{"offset"} }))
	f.Fuzz(func(t *testing.T, value []byte) {
		rec := &kgo.Record{Topic: "t", Offset: 7, Value: value, Timestamp: time.Unix(0, 0)}
		args, _, err := m.AppendFields(nil, nil, rec)
		var members map[string]json.RawMessage
		isObject := json.Unmarshal(value, &members) == nil && members != nil
		if err != nil {
			if !errors.Is(err, sink.ErrInvalidJSON) {
				t.Fatalf("got %v, want ErrInvalidJSON", err)
			}
			if isObject {
				t.Fatalf("value %q is a JSON object, but the mapping says %v", value, err)
			}
			return
		}
		if !isObject {
			t.Fatalf("value %q is not one JSON object, but the mapping accepted it", value)
		}
		fields := pairs(t, args)
		if last := fields[len(fields)-1]; last != [2]string{"offset", "7"} {
			t.Errorf("got last field %v, want the offset metadata", last)
		}
		fields = fields[:len(fields)-1]
		// Every member, duplicates included, in the order it appears.
		want := orderedMembers(t, value)
		if len(fields) != len(want) {
			t.Fatalf("%q: got %d fields %q, want one per member (%d)", value, len(fields), fields, len(want))
		}
		for i, kv := range fields {
			name, raw := want[i].name, want[i].raw
			if kv[0] != name {
				t.Errorf("field %d is %q, want member %q", i, kv[0], name)
				continue
			}
			var s string
			if raw[0] == '"' && json.Unmarshal(raw, &s) == nil { // null also unmarshals into a string
				if kv[1] != s {
					t.Errorf("field %q = %q, want the string's text %q", name, kv[1], s)
				}
				continue
			}
			if !jsonEqual(t, []byte(kv[1]), raw) {
				t.Errorf("field %q = %q: want its JSON text %s", name, kv[1], raw)
			}
		}
	})
}

type member struct {
	name string
	raw  json.RawMessage
}

// orderedMembers lists the members of the JSON object value in order,
// keeping duplicate names (a map would keep only the last).
func orderedMembers(t *testing.T, value []byte) []member {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(value))
	if _, err := dec.Token(); err != nil { // '{'
		t.Fatalf("%q: %v", value, err)
	}
	var out []member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("%q: %v", value, err)
		}
		var m member
		m.name = tok.(string)
		if err := dec.Decode(&m.raw); err != nil {
			t.Fatalf("%q: member %q: %v", value, m.name, err)
		}
		out = append(out, m)
	}
	return out
}

// jsonEqual reports whether a and b are valid JSON texts with the same value
// (numbers compared by their text, so 1e400 does not overflow).
func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	decode := func(text []byte) (any, bool) {
		dec := json.NewDecoder(bytes.NewReader(text))
		dec.UseNumber()
		var v any
		if dec.Decode(&v) != nil || dec.More() {
			return nil, false
		}
		return v, true
	}
	va, okA := decode(a)
	vb, okB := decode(b)
	return okA && okB && reflect.DeepEqual(va, vb)
}

// FuzzSealedFields: with encryption on, the value and the chosen header
// are stored sealed, every other field in clear, and they open back to the
// record's bytes.
func FuzzSealedFields(f *testing.F) {
	f.Add([]byte("p=1;seq=2;"), []byte("k"), "token", []byte("bearer x"), "trace", []byte("t1"))
	f.Add([]byte{}, []byte(nil), "", []byte(nil), "token", []byte{0})
	f.Add([]byte{0xff, 0}, []byte{}, "token", []byte{}, "token", []byte("dup"))
	key := bytes.Repeat([]byte{7}, encryption.KeySize)
	ring := encryption.NewKeyring()
	if err := ring.Add("k1", key); err != nil {
		f.Fatal(err)
	}
	sealer, err := ring.Sealer("k1")
	if err != nil {
		f.Fatal(err)
	}
	cfg := streamConfig(func(s *config.Stream) { s.HeadersPrefix = "h."; s.MaxEntryBytes = 1 << 30 })
	m := sink.MappingForBenchmark(f, cfg, sink.WithSealer(sealer, "enc_key_id", []string{"token"}))
	f.Fuzz(func(t *testing.T, value, recKey []byte, h1 string, v1 []byte, h2 string, v2 []byte) {
		rec := &kgo.Record{Topic: "t", Partition: 1, Offset: 2, Key: recKey, Value: value, Timestamp: time.Unix(0, 0),
			Headers: []kgo.RecordHeader{{Key: h1, Value: v1}, {Key: h2, Value: v2}}}
		args, _, err := m.AppendFields(nil, nil, rec)
		if err != nil {
			t.Fatalf("AppendFields: %v", err)
		}
		fields := pairs(t, args)
		if fields[0][0] != "value" || fields[1] != [2]string{"enc_key_id", "k1"} {
			t.Fatalf("got first fields %v, want value then enc_key_id=k1", fields[:2])
		}
		plain, err := ring.Open("k1", "value", []byte(fields[0][1]))
		if err != nil || !bytes.Equal(plain, value) {
			t.Errorf("value: got %q, %v, want %q", plain, err, value)
		}
		headers := map[string][]byte{"h." + h1: v1, "h." + h2: v2}
		for _, kv := range fields[2:] {
			want, isHeader := headers[kv[0]]
			if !isHeader {
				continue
			}
			if kv[0] != "h.token" {
				if kv[1] != string(want) && !(h1 == h2 && (kv[1] == string(v1) || kv[1] == string(v2))) {
					t.Errorf("header field %s = %q, want %q in clear", kv[0], kv[1], want)
				}
				continue
			}
			got, err := ring.Open("k1", "h.token", []byte(kv[1]))
			if err != nil || (!bytes.Equal(got, v1) && !bytes.Equal(got, v2)) {
				t.Errorf("h.token: got %q, %v, want one of the token headers", got, err)
			}
		}
	})
}
