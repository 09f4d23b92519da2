package sink_test

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
	"github.com/kafka-redis-connector/kafka-redis-connector/sink"
)

// configAccepts reports whether config validation accepts tmpl as
// stream.key.
func configAccepts(tmpl string) bool {
	c := config.Default()
	c.Stream.Key = tmpl
	for _, e := range unwrapAll(c.Validate()) {
		var fe *config.FieldError
		if errors.As(e, &fe) && fe.Key == "stream.key" {
			return false
		}
	}
	return true
}

func unwrapAll(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	if err == nil {
		return nil
	}
	return []error{err}
}

// FuzzStreamKeyTemplate: config validation and the sink's parser agree on
// every template, and a parsed template renders any record without
// panicking, to a key built only from the template's parts.
func FuzzStreamKeyTemplate(f *testing.F) {
	for _, seed := range []string{
		"{topic}", "events:{topic}:{partition}", "krc:{topic}:{key}:{header:tenant-id}",
		"{", "}", "{}", "{header:}", "{header:{topic}}", "a}b{topic}", "{offset}", "{{topic}}", "",
	} {
		f.Add(seed, "orders", int32(3), []byte("k1"), "tenant-id", []byte("acme"))
	}
	f.Add("{key}", "t", int32(-1), []byte(nil), "", []byte(nil))
	f.Fuzz(func(t *testing.T, tmpl, topic string, partition int32, key []byte, hname string, hval []byte) {
		parsed, err := sink.ParseStreamKeyTemplate(tmpl)
		if got, want := err == nil, configAccepts(tmpl); got != want {
			t.Fatalf("template %q: sink parses it: %v, config accepts it: %v", tmpl, got, want)
		}
		if err != nil {
			return
		}
		if parsed.String() != tmpl {
			t.Errorf("String() = %q, want %q", parsed.String(), tmpl)
		}
		rec := &kgo.Record{Topic: topic, Partition: partition, Key: key, Headers: []kgo.RecordHeader{{Key: hname, Value: hval}}}
		out, ok := parsed.AppendKey([]byte("prefix|"), rec)
		if !bytes.HasPrefix(out, []byte("prefix|")) {
			t.Fatalf("AppendKey dropped the destination's bytes: %q", out)
		}
		needsKey := strings.Contains(tmpl, "{key}")
		if !ok {
			if !needsKey && !strings.Contains(tmpl, "{header:") {
				t.Fatalf("template %q without {key} or {header:...} did not resolve", tmpl)
			}
			return
		}
		if needsKey && key == nil {
			t.Errorf("template %q resolved for a record without a key", tmpl)
		}
		if !parsed.PerRecord() && len(tmpl) > 0 {
			// Only {topic} and {partition}: rendering twice gives one key.
			again, _ := parsed.AppendKey(nil, rec)
			if !bytes.Equal(again, out[len("prefix|"):]) {
				t.Errorf("template %q rendered %q, then %q", tmpl, out, again)
			}
			want := strings.NewReplacer("{topic}", topic, "{partition}", strconv.Itoa(int(partition))).Replace(tmpl)
			if string(again) != want {
				t.Errorf("template %q: got %q, want %q", tmpl, again, want)
			}
		}
	})
}
