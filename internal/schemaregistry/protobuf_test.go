package schemaregistry

import (
	"context"
	"encoding/base64"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/sr"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// commonProto is imported by ordersProto, registered as a reference.
const commonProto = `syntax = "proto3";
package common;
message Money { int64 units = 1; string currency = 2; }
`

// ordersProto has several top-level messages, a nested one, an import of
// a user schema and one of a well-known type.
const ordersProto = `syntax = "proto3";
package shop;
import "common/money.proto";
import "google/protobuf/timestamp.proto";

message Ping { string from = 1; }

message Order {
  enum Status { NEW = 0; PAID = 1; }
  message Line { string sku = 1; uint32 qty = 2; common.Money price = 3; }
  int64 id = 1;
  Status status = 2;
  repeated Line lines = 3;
  common.Money total = 4;
  google.protobuf.Timestamp placed_at = 5;
  bytes blob = 6;
  optional string note = 7;
  oneof payment { string card = 8; string iban = 9; }
  map<string, int32> attrs = 10;
  double ratio = 11;
}
`

// registerOrders registers both schemas and returns the id of ordersProto
// and its compiled file, to build messages with.
func registerOrders(t *testing.T, fake interface {
	RegisterSchema(string, sr.Schema) (int, int, error)
}) (int, protoreflect.FileDescriptor) {
	t.Helper()
	if _, _, err := fake.RegisterSchema("common/money.proto", sr.Schema{Schema: commonProto, Type: sr.TypeProtobuf}); err != nil {
		t.Fatal(err)
	}
	id, _, err := fake.RegisterSchema("orders-value", sr.Schema{Schema: ordersProto, Type: sr.TypeProtobuf,
		References: []sr.SchemaReference{{Name: "common/money.proto", Subject: "common/money.proto", Version: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	fd, err := compileProto(context.Background(), id, ordersProto, []reference{{name: "common/money.proto", schema: sr.Schema{Schema: commonProto}}})
	if err != nil {
		t.Fatal(err)
	}
	return id, fd
}

func protoPayload(t *testing.T, md protoreflect.MessageDescriptor, set func(m *dynamicpb.Message)) []byte {
	t.Helper()
	m := dynamicpb.NewMessage(md)
	set(m)
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestProtobufMessagesByIndex(t *testing.T) {
	fake, reg, _ := newTestRegistry(t, 10)
	id, fd := registerOrders(t, fake)
	order := fd.Messages().ByName("Order")
	line := order.Messages().ByName("Line")
	money := order.Fields().ByName("total").Message()
	setMoney := func(m protoreflect.Message, units int64) {
		m.Set(money.Fields().ByName("units"), protoreflect.ValueOfInt64(units))
		m.Set(money.Fields().ByName("currency"), protoreflect.ValueOfString("EUR"))
	}
	placed := timestamppb.New(time.UnixMilli(1796187600123))
	tests := []struct {
		name    string
		index   []int
		payload []byte
		want    string
	}{
		{"first message", []int{0}, protoPayload(t, fd.Messages().ByName("Ping"), func(m *dynamicpb.Message) {
			m.Set(m.Descriptor().Fields().ByName("from"), protoreflect.ValueOfString("a"))
		}), `{"from":"a"}`},
		{"second message", []int{1}, protoPayload(t, order, func(m *dynamicpb.Message) {
			f := order.Fields()
			m.Set(f.ByName("id"), protoreflect.ValueOfInt64(42))
			m.Set(f.ByName("status"), protoreflect.ValueOfEnum(1))
			l := m.Mutable(f.ByName("lines")).List()
			lm := l.NewElement()
			lm.Message().Set(line.Fields().ByName("sku"), protoreflect.ValueOfString("s-1"))
			lm.Message().Set(line.Fields().ByName("qty"), protoreflect.ValueOfUint32(2))
			setMoney(lm.Message().Mutable(line.Fields().ByName("price")).Message(), 5)
			l.Append(lm)
			setMoney(m.Mutable(f.ByName("total")).Message(), 10)
			ts := m.Mutable(f.ByName("placed_at")).Message()
			ts.Set(ts.Descriptor().Fields().ByName("seconds"), protoreflect.ValueOfInt64(placed.Seconds))
			ts.Set(ts.Descriptor().Fields().ByName("nanos"), protoreflect.ValueOfInt32(placed.Nanos))
			m.Set(f.ByName("blob"), protoreflect.ValueOfBytes([]byte{0, 0xff, 0x10}))
			m.Set(f.ByName("iban"), protoreflect.ValueOfString("DE89"))
			m.Mutable(f.ByName("attrs")).Map().Set(protoreflect.ValueOfString("x").MapKey(), protoreflect.ValueOfInt32(1))
			m.Set(f.ByName("ratio"), protoreflect.ValueOfFloat64(0.25))
		}), `{"id":"42","status":"PAID","lines":[{"sku":"s-1","qty":2,"price":{"units":"5","currency":"EUR"}}],` +
			`"total":{"units":"10","currency":"EUR"},"placed_at":"2026-12-02T05:00:00.123Z","blob":"AP8Q",` +
			`"iban":"DE89","attrs":{"x":1},"ratio":0.25}`},
		{"nested message", []int{1, 0}, protoPayload(t, line, func(m *dynamicpb.Message) {
			m.Set(line.Fields().ByName("sku"), protoreflect.ValueOfString("s-2"))
		}), `{"sku":"s-2","qty":0,"price":null}`},
		{"unset fields", []int{1}, nil, `{"id":"0","status":"NEW","lines":[],"total":null,"placed_at":null,"blob":"",` +
			`"attrs":{},"ratio":0}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := reg.Decoder(Protobuf).AppendJSON(context.Background(), nil, wire(t, id, tt.index, tt.payload))
			if err != nil {
				t.Fatalf("got %v, want no error", err)
			}
			if string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestProtobufFileDescriptorSchema(t *testing.T) {
	fake, reg, _ := newTestRegistry(t, 10)
	_, fd := registerOrders(t, fake)
	// The form Confluent's Python serializer registers: the file's
	// FileDescriptorProto, serialized and base64-encoded.
	raw, err := proto.Marshal(protodesc.ToFileDescriptorProto(fd))
	if err != nil {
		t.Fatal(err)
	}
	id, _, err := fake.RegisterSchema("orders-b64-value", sr.Schema{Schema: base64.StdEncoding.EncodeToString(raw), Type: sr.TypeProtobuf,
		References: []sr.SchemaReference{{Name: "common/money.proto", Subject: "common/money.proto", Version: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	payload := protoPayload(t, fd.Messages().ByName("Ping"), func(m *dynamicpb.Message) {
		m.Set(m.Descriptor().Fields().ByName("from"), protoreflect.ValueOfString("b64"))
	})
	got, err := reg.Decoder(Protobuf).AppendJSON(context.Background(), nil, wire(t, id, []int{0}, payload))
	if want := `{"from":"b64"}`; err != nil || string(got) != want {
		t.Errorf("got %s, %v, want %s", got, err, want)
	}
}

func TestJSONSchemaPayload(t *testing.T) {
	fake, reg, _ := newTestRegistry(t, 10)
	id, _, err := fake.RegisterSchema("j-value", sr.Schema{Type: sr.TypeJSON,
		Schema: `{"type":"object","properties":{"n":{"type":"integer"},"tags":{"type":"array"}}}`})
	if err != nil {
		t.Fatal(err)
	}
	got, err := reg.Decoder(JSONSchema).AppendJSON(context.Background(), nil, wire(t, id, nil, []byte("{\"n\": 1,\n \"tags\": [\"a\"], \"z\": null}")))
	if want := `{"n":1,"tags":["a"],"z":null}`; err != nil || string(got) != want {
		t.Errorf("got %s, %v, want %s", got, err, want)
	}
}
