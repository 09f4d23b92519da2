package schemaregistry

import (
	"context"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"
)

// orderSchema has a nested record, unions (nullable and of two records),
// the logical types, an enum, bytes, fixed, a map and an array.
const orderSchema = `{
  "type": "record", "name": "Order", "namespace": "shop",
  "fields": [
    {"name": "id", "type": "long"},
    {"name": "customer", "type": {"type": "record", "name": "Customer", "fields": [
      {"name": "name", "type": "string"},
      {"name": "address", "type": {"type": "record", "name": "Address", "fields": [
        {"name": "city", "type": "string"}, {"name": "zip", "type": ["null", "string"], "default": null}]}}]}},
    {"name": "note", "type": ["null", "string"], "default": null},
    {"name": "coupon", "type": ["null", "string"], "default": null},
    {"name": "payment", "type": [
      {"type": "record", "name": "Card", "fields": [{"name": "last4", "type": "string"}]},
      {"type": "record", "name": "Transfer", "fields": [{"name": "iban", "type": "string"}]}]},
    {"name": "total", "type": {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2}},
    {"name": "refund", "type": {"type": "fixed", "name": "Money", "size": 8, "logicalType": "decimal", "precision": 12, "scale": 3}},
    {"name": "placed_at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
    {"name": "shipped_at", "type": {"type": "long", "logicalType": "timestamp-micros"}},
    {"name": "due", "type": {"type": "int", "logicalType": "date"}},
    {"name": "cutoff", "type": {"type": "int", "logicalType": "time-millis"}},
    {"name": "ref", "type": {"type": "string", "logicalType": "uuid"}},
    {"name": "status", "type": {"type": "enum", "name": "Status", "symbols": ["NEW", "PAID", "SHIPPED"]}},
    {"name": "blob", "type": "bytes"},
    {"name": "hash", "type": {"type": "fixed", "name": "Hash", "size": 4}},
    {"name": "tags", "type": {"type": "array", "items": "string"}},
    {"name": "attrs", "type": {"type": "map", "values": "int"}},
    {"name": "ratio", "type": "double"},
    {"name": "ok", "type": "boolean"},
    {"name": "nothing", "type": "null"}
  ]}`

// orderJSON is what orderValue decodes to: the rendering the package
// comment promises, field by field.
const orderJSON = `{"id":42,` +
	`"customer":{"name":"Zoë \"Z\"","address":{"city":"Berlin","zip":null}},` +
	`"note":null,"coupon":"WELCOME",` +
	`"payment":{"iban":"DE89"},` +
	`"total":"-1234.50","refund":"0.007",` +
	`"placed_at":"2026-12-02T05:00:00.123Z","shipped_at":"2026-12-02T05:00:00.123456Z",` +
	`"due":"2026-12-24","cutoff":"17:30:00.25",` +
	`"ref":"6f1c3a5e-0000-4000-8000-000000000001",` +
	`"status":"PAID","blob":"AP8Q","hash":"3q2+7w==",` +
	`"tags":["a","b"],"attrs":{"x":1},"ratio":0.25,"ok":true,"nothing":null}`

func orderValue() map[string]any {
	return map[string]any{
		"id": int64(42),
		"customer": map[string]any{"name": `Zoë "Z"`,
			"address": map[string]any{"city": "Berlin", "zip": nil}},
		"note":       nil,
		"coupon":     "WELCOME",
		"payment":    map[string]any{"shop.Transfer": map[string]any{"iban": "DE89"}},
		"total":      big.NewRat(-123450, 100),
		"refund":     big.NewRat(7, 1000),
		"placed_at":  time.UnixMilli(1796187600123),
		"shipped_at": time.UnixMicro(1796187600123456),
		"due":        time.Date(2026, 12, 24, 0, 0, 0, 0, time.UTC),
		"cutoff":     17*time.Hour + 30*time.Minute + 250*time.Millisecond,
		"ref":        "6f1c3a5e-0000-4000-8000-000000000001",
		"status":     "PAID",
		"blob":       []byte{0x00, 0xff, 0x10},
		"hash":       [4]byte{0xde, 0xad, 0xbe, 0xef},
		"tags":       []any{"a", "b"},
		"attrs":      map[string]any{"x": 1},
		"ratio":      0.25,
		"ok":         true,
		"nothing":    nil,
	}
}

// wire prefixes payload with the Confluent header of id (and index).
func wire(t testing.TB, id int, index []int, payload []byte) []byte {
	t.Helper()
	var h sr.ConfluentHeader
	b, err := h.AppendEncode(nil, id, index)
	if err != nil {
		t.Fatal(err)
	}
	return append(b, payload...)
}

// newTestRegistry starts a registry double (the Confluent API over HTTP)
// and a Registry client of it.
func newTestRegistry(t testing.TB, cacheSize int) (*srfake.Registry, *Registry, *Metrics) {
	t.Helper()
	fake := srfake.New()
	t.Cleanup(fake.Close)
	cfg := testConfig(fake.URL())
	cfg.CacheSize = cacheSize
	m := NewMetrics(nil)
	reg, err := New(cfg, WithMetrics(m))
	if err != nil {
		t.Fatal(err)
	}
	return fake, reg, m
}

func TestAvroRendering(t *testing.T) {
	fake, reg, _ := newTestRegistry(t, 10)
	id, _, err := fake.RegisterSchema("orders-value", sr.Schema{Schema: orderSchema})
	if err != nil {
		t.Fatal(err)
	}
	payload, err := avro.Marshal(avro.MustParse(orderSchema), orderValue())
	if err != nil {
		t.Fatal(err)
	}
	got, err := reg.Decoder(Avro).AppendJSON(context.Background(), nil, wire(t, id, nil, payload))
	if err != nil {
		t.Fatalf("got %v, want no error", err)
	}
	if string(got) != orderJSON {
		t.Errorf("got  %s\nwant %s", got, orderJSON)
	}
}

func TestAvroReferences(t *testing.T) {
	fake, reg, _ := newTestRegistry(t, 10)
	const money = `{"type":"record","name":"Money","namespace":"fin","fields":[{"name":"cents","type":"long"},{"name":"currency","type":"string"}]}`
	if _, _, err := fake.RegisterSchema("fin.Money", sr.Schema{Schema: money}); err != nil {
		t.Fatal(err)
	}
	const invoice = `{"type":"record","name":"Invoice","namespace":"fin","fields":[{"name":"amount","type":"fin.Money"}]}`
	id, _, err := fake.RegisterSchema("invoices-value", sr.Schema{Schema: invoice,
		References: []sr.SchemaReference{{Name: "fin.Money", Subject: "fin.Money", Version: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	cache := &avro.SchemaCache{}
	avro.MustParse(money)
	_, _ = avro.ParseWithCache(money, "", cache)
	s, err := avro.ParseWithCache(invoice, "", cache)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := avro.Marshal(s, map[string]any{"amount": map[string]any{"cents": int64(1999), "currency": "EUR"}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := reg.Decoder(Avro).AppendJSON(context.Background(), nil, wire(t, id, nil, payload))
	if want := `{"amount":{"cents":1999,"currency":"EUR"}}`; err != nil || string(got) != want {
		t.Errorf("got %s, %v, want %s", got, err, want)
	}
}

func TestDecodeRecordErrors(t *testing.T) {
	fake, reg, _ := newTestRegistry(t, 10)
	avroID, _, _ := fake.RegisterSchema("a-value", sr.Schema{Schema: `{"type":"record","name":"A","fields":[{"name":"n","type":"long"},{"name":"s","type":"string"}]}`})
	protoID, _, _ := fake.RegisterSchema("p-value", sr.Schema{Schema: `syntax = "proto3"; message P { int64 n = 1; }`, Type: sr.TypeProtobuf})
	good, _ := avro.Marshal(avro.MustParse(`{"type":"record","name":"A","fields":[{"name":"n","type":"long"},{"name":"s","type":"string"}]}`),
		map[string]any{"n": int64(1), "s": "x"})
	tests := []struct {
		name    string
		format  Format
		payload []byte
		reason  string
	}{
		{"empty", Avro, nil, ReasonWireFormat},
		{"short", Avro, []byte{0, 0, 0}, ReasonWireFormat},
		{"magic byte", Avro, append([]byte{1, 0, 0, 0, byte(avroID)}, good...), ReasonWireFormat},
		{"plain json", Avro, []byte(`{"n":1}`), ReasonWireFormat},
		{"unknown id", Avro, wire(t, 9999, nil, good), ReasonSchemaNotFound},
		{"truncated payload", Avro, wire(t, avroID, nil, good[:2]), ReasonDecodeFailed},
		{"trailing bytes", Avro, wire(t, avroID, nil, append(good, 7)), ReasonDecodeFailed},
		{"schema of another type", Protobuf, wire(t, avroID, []int{0}, good), ReasonDecodeFailed},
		{"message index out of range", Protobuf, wire(t, protoID, []int{3}, nil), ReasonWireFormat},
		{"corrupt protobuf", Protobuf, wire(t, protoID, []int{0}, []byte{0x08}), ReasonDecodeFailed},
		{"invalid json", JSONSchema, wire(t, avroID, nil, []byte(`{"n":`)), ReasonDecodeFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := reg.Decoder(tt.format).AppendJSON(context.Background(), nil, tt.payload)
			var re *RecordError
			if !errors.As(err, &re) {
				t.Fatalf("got %v, want a *RecordError", err)
			}
			if re.Reason != tt.reason {
				t.Errorf("got reason %s (%v), want %s", re.Reason, err, tt.reason)
			}
			if errors.Is(err, ErrUnavailable) {
				t.Errorf("got %v, which wraps ErrUnavailable; want a permanent error", err)
			}
		})
	}
}
