package sink

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
	"github.com/kafka-redis-connector/kafka-redis-connector/internal/schemaregistry"
)

// BenchmarkAppendFieldsAvro is the per-record cost of stream.format avro
// on the bench's record shape (a 100-byte payload, schema cached), beside
// the json format on the same fields.
func BenchmarkAppendFieldsAvro(b *testing.B) {
	const schema = `{"type":"record","name":"BenchEvent","fields":[{"name":"run","type":"string"},{"name":"partition","type":"int"},
	  {"name":"seq","type":"long"},{"name":"sent","type":{"type":"long","logicalType":"timestamp-micros"}},{"name":"pad","type":"string"}]}`
	fake := srfake.New()
	defer fake.Close()
	id, _, _ := fake.RegisterSchema("b-value", sr.Schema{Schema: schema})
	cfg := config.Default().SchemaRegistry
	cfg.URL = fake.URL()
	reg, err := schemaregistry.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	v := map[string]any{"run": "bench-x", "partition": 3, "seq": int64(123456), "sent": time.Now(), "pad": strings.Repeat(".", 70)}
	payload, _ := avro.Marshal(avro.MustParse(schema), v)
	var h sr.ConfluentHeader
	value, _ := h.AppendEncode(nil, id, nil)
	value = append(value, payload...)
	for _, tt := range []struct {
		name   string
		format string
		value  []byte
	}{
		{"avro", "avro", value},
		{"json", "json", []byte(`{"run":"bench-x","partition":3,"seq":123456,"sent":"2026-12-02T05:00:00.123456Z","pad":"` + strings.Repeat(".", 70) + `"}`)},
	} {
		b.Run(tt.name, func(b *testing.B) {
			s := config.Default().Stream
			s.Format = tt.format
			w, err := NewWriter(nil, s, WithSchemaRegistry(reg))
			if err != nil {
				b.Fatal(err)
			}
			rec := &kgo.Record{Topic: "t", Partition: 3, Offset: 9, Value: tt.value, Timestamp: time.Now()}
			var args []any
			var arena []byte
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				args, arena, err = w.mapping.appendFieldsContext(ctx, args[:0], arena[:0], rec)
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
