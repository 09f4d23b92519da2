package schemaregistry

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/sr"
)

// FuzzDecodePayload feeds arbitrary payloads to the Avro and Protobuf
// decoders: they must never panic, and what they accept must be valid JSON.
func FuzzDecodePayload(f *testing.F) {
	orderAvro := avro.MustParse(orderSchema)
	good, err := avro.Marshal(orderAvro, orderValue())
	if err != nil {
		f.Fatal(err)
	}
	fd, err := compileProto(context.Background(), 1, ordersProto, []reference{{name: "common/money.proto", schema: sr.Schema{Schema: commonProto}}})
	if err != nil {
		f.Fatal(err)
	}
	order := fd.Messages().ByName("Order")
	f.Add(good)
	f.Add([]byte{0x08, 0x2a, 0x10, 0x01})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, payload []byte) {
		if out, err := appendAvroJSON(nil, orderAvro, payload); err == nil && !json.Valid(out) {
			t.Fatalf("avro: accepted %x and rendered invalid JSON %s", payload, out)
		}
		if out, err := appendProtoJSON(nil, order, payload); err == nil && !json.Valid(out) {
			t.Fatalf("protobuf: accepted %x and rendered invalid JSON %s", payload, out)
		}
	})
}
