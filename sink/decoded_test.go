package sink_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
	"github.com/kafka-redis-connector/kafka-redis-connector/internal/schemaregistry"
	"github.com/kafka-redis-connector/kafka-redis-connector/sink"
)

const userSchema = `{"type":"record","name":"User","fields":[
  {"name":"name","type":"string"},
  {"name":"age","type":["null","int"]},
  {"name":"address","type":{"type":"record","name":"Address","fields":[{"name":"city","type":"string"}]}}]}`

// wireRecord encodes v with schema id in the Confluent wire format.
func wireRecord(t *testing.T, id int, schema string, v any) []byte {
	t.Helper()
	payload, err := avro.Marshal(avro.MustParse(schema), v)
	if err != nil {
		t.Fatal(err)
	}
	var h sr.ConfluentHeader
	b, _ := h.AppendEncode(nil, id, nil)
	return append(b, payload...)
}

func newSchemaRegistry(t *testing.T) (*srfake.Registry, *schemaregistry.Registry) {
	t.Helper()
	fake := srfake.New()
	t.Cleanup(fake.Close)
	cfg := config.Default().SchemaRegistry
	cfg.URL, cfg.Timeout = fake.URL(), time.Second
	reg, err := schemaregistry.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return fake, reg
}

func TestWriterDecodesAvro(t *testing.T) {
	fake, reg := newSchemaRegistry(t)
	userID, _, _ := fake.RegisterSchema("users-value", sr.Schema{Schema: userSchema})
	keyID, _, _ := fake.RegisterSchema("users-key", sr.Schema{Schema: `"string"`})
	scoreID, _, _ := fake.RegisterSchema("scores-value", sr.Schema{Schema: `"double"`})
	forTransports(t, "", func(t *testing.T, opts ...sink.WriterOption) {
		m, rdb := newRedis(t)
		w := newWriter(t, rdb, func(c *config.Stream) {
			c.Format, c.KeyFormat, c.Metadata = "avro", "avro", []string{"offset"}
		}, append(opts, sink.WithSchemaRegistry(reg))...)
		recs := []*kgo.Record{
			{Topic: "users", Offset: 7, Key: wireRecord(t, keyID, `"string"`, "u-1"),
				Value: wireRecord(t, userID, userSchema, map[string]any{"name": "Ada", "age": 36, "address": map[string]any{"city": "London"}})},
			{Topic: "users", Offset: 8, Value: wireRecord(t, userID, userSchema, map[string]any{"name": "Bob", "age": nil, "address": map[string]any{"city": "Oslo"}})},
			{Topic: "users", Offset: 9, Value: wireRecord(t, scoreID, `"double"`, 0.5)},
		}
		res, err := w.Write(context.Background(), recs)
		if err != nil || res.Written() != 3 {
			t.Fatalf("got %d written, %v (%v), want 3", res.Written(), err, res.Errs)
		}
		want := [][]string{
			{"name", "Ada", "age", "36", "address", `{"city":"London"}`, "key", "u-1", "offset", "7"},
			{"name", "Bob", "age", "null", "address", `{"city":"Oslo"}`, "offset", "8"},
			{"value", "0.5", "offset", "9"},
		}
		if got := entries(t, m, "users"); !equalEntries(got, want) {
			t.Errorf("got %q, want %q", got, want)
		}
	})
}

func TestWriterUndecodableRecordsArePermanent(t *testing.T) {
	fake, reg := newSchemaRegistry(t)
	userID, _, _ := fake.RegisterSchema("users-value", sr.Schema{Schema: userSchema})
	good := wireRecord(t, userID, userSchema, map[string]any{"name": "Ada", "age": 1, "address": map[string]any{"city": "X"}})
	_, rdb := newRedis(t)
	w := newWriter(t, rdb, func(c *config.Stream) { c.Format = "avro" }, sink.WithSchemaRegistry(reg))
	recs := []*kgo.Record{
		{Topic: "t", Value: []byte(`{"not":"avro"}`)},
		{Topic: "t", Value: wireRecord(t, 4242, userSchema, map[string]any{"name": "A", "age": nil, "address": map[string]any{"city": "X"}})},
		{Topic: "t", Value: good[:len(good)-2]},
		{Topic: "t", Value: good},
	}
	res, err := w.Write(context.Background(), recs)
	if err != nil {
		t.Fatalf("got %v, want no retryable error", err)
	}
	for i, reason := range []string{schemaregistry.ReasonWireFormat, schemaregistry.ReasonSchemaNotFound, schemaregistry.ReasonDecodeFailed} {
		var re *schemaregistry.RecordError
		if !errors.Is(res.Errs[i], sink.ErrUndecodable) || sink.Retryable(res.Errs[i]) || !errors.As(res.Errs[i], &re) || re.Reason != reason {
			t.Errorf("record %d: got %v, want a permanent ErrUndecodable with reason %s", i, res.Errs[i], reason)
		}
	}
	if res.Errs[3] != nil {
		t.Errorf("record 3: got %v, want written", res.Errs[3])
	}
}

func TestWriterWaitsForAnUnavailableRegistry(t *testing.T) {
	fake, reg := newSchemaRegistry(t)
	knownID, _, _ := fake.RegisterSchema("a-value", sr.Schema{Schema: userSchema})
	newID, _, _ := fake.RegisterSchema("b-value", sr.Schema{Schema: `{"type":"record","name":"B","fields":[{"name":"b","type":"int"}]}`})
	v := map[string]any{"name": "Ada", "age": 1, "address": map[string]any{"city": "X"}}
	m, rdb := newRedis(t)
	w := newWriter(t, rdb, func(c *config.Stream) { c.Format, c.Metadata = "avro", []string{"offset"} }, sink.WithSchemaRegistry(reg))
	if res, err := w.Write(context.Background(), []*kgo.Record{{Topic: "t", Value: wireRecord(t, knownID, userSchema, v)}}); err != nil || res.Written() != 1 {
		t.Fatalf("warm-up: got %d written, %v", res.Written(), err)
	}
	fake.Close()
	recs := []*kgo.Record{
		{Topic: "t", Offset: 1, Value: wireRecord(t, knownID, userSchema, v)},
		{Topic: "t", Offset: 2, Value: wireRecord(t, newID, `{"type":"record","name":"B","fields":[{"name":"b","type":"int"}]}`, map[string]any{"b": 1})},
		{Topic: "t", Offset: 3, Value: wireRecord(t, knownID, userSchema, v)},
	}
	res, err := w.Write(context.Background(), recs)
	if !sink.Retryable(err) || !errors.Is(err, sink.ErrSchemaRegistryUnavailable) {
		t.Fatalf("got %v, want a retryable ErrSchemaRegistryUnavailable", err)
	}
	if res.Errs[0] != nil {
		t.Errorf("record with a known schema: got %v, want written", res.Errs[0])
	}
	// The record after the one that waits waits too: order is kept.
	for i := 1; i < 3; i++ {
		if !sink.Retryable(res.Errs[i]) {
			t.Errorf("record %d: got %v, want a retryable error", i, res.Errs[i])
		}
	}
	if got := len(entries(t, m, "t")); got != 2 {
		t.Errorf("got %d entries, want 2 (warm-up and the known schema)", got)
	}
}

func TestNewWriterNeedsARegistryForSchemaFormats(t *testing.T) {
	_, rdb := newRedis(t)
	for _, edit := range []func(*config.Stream){
		func(c *config.Stream) { c.Format = "protobuf" },
		func(c *config.Stream) { c.KeyFormat = "json_schema" },
	} {
		if _, err := sink.NewWriter(rdb, streamConfig(edit)); err == nil {
			t.Error("got no error, want one naming the missing schema registry")
		}
	}
}
