//go:build integration

package testcontainers

import (
	"context"
	"encoding/hex"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bufbuild/protocompile"
	"github.com/hamba/avro/v2"
	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
)

// The schema registry scenarios run against a real Confluent-compatible
// registry: Apicurio Registry started by scripts/schema-registry.sh (part of
// `make services-up`), at SCHEMA_REGISTRY_URL. The test registers schemas
// through the REST API, produces records in the wire format to Kafka, runs
// the connector binary with stream.format avro|protobuf|json_schema and
// compares what Redis holds field by field.

// needRegistry returns the registry's Confluent API base URL, or skips
// (fails in CI) when none is configured.
func needRegistry(t *testing.T) string {
	t.Helper()
	needServices(t)
	url := os.Getenv("SCHEMA_REGISTRY_URL")
	if url == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("SCHEMA_REGISTRY_URL is not set: CI must run the schema registry scenarios (scripts/schema-registry.sh url)")
		}
		t.Skip("set SCHEMA_REGISTRY_URL (scripts/schema-registry.sh up; then scripts/schema-registry.sh url)")
	}
	return url
}

// srScenario is a one-partition scenario whose records are decoded through
// the registry.
type srScenario struct {
	*scenario
	url  string
	reg  *sr.Client
	prod *kgo.Client
	tag  string // makes subjects unique per run
}

func newSRScenario(t *testing.T, name string) *srScenario {
	t.Helper()
	url := needRegistry(t)
	s := newScenario(t, name, 1)
	reg, err := sr.NewClient(sr.URLs(url))
	if err != nil {
		t.Fatal(err)
	}
	prod, err := kgo.NewClient(kgo.SeedBrokers(svc.brokers...), kgo.DefaultProduceTopic(s.topic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(prod.Close)
	return &srScenario{scenario: s, url: url, reg: reg, prod: prod, tag: strconv.FormatInt(time.Now().UnixNano(), 36)}
}

func (s *srScenario) env(format string, extra map[string]string) map[string]string {
	env := s.scenario.env(map[string]string{
		"KRC_STREAM_FORMAT":              format,
		"KRC_STREAM_METADATA":            "offset",
		"KRC_SCHEMA_REGISTRY_URL":        s.url,
		"KRC_SCHEMA_REGISTRY_TIMEOUT":    "2s",
		"KRC_RETRY_INITIAL_BACKOFF":      "100ms",
		"KRC_RETRY_MAX_BACKOFF":          "500ms",
		"KRC_CIRCUIT_BREAKER_RECOVERY":   "1s",
		"KRC_SCHEMA_REGISTRY_CACHE_SIZE": "100",
	})
	for k, v := range extra {
		env[k] = v
	}
	return env
}

// register registers schema under subject (made unique) and returns its id.
func (s *srScenario) register(t *testing.T, subject string, schema sr.Schema) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ss, err := s.reg.CreateSchema(ctx, subject+"-"+s.tag, schema)
	if err != nil {
		t.Fatalf("register %s: %v", subject, err)
	}
	return ss.ID
}

// produce sends each value to partition 0, in order, and returns the offsets.
func (s *srScenario) produce(t *testing.T, values ...[]byte) []int64 {
	t.Helper()
	var offs []int64
	for _, v := range values {
		r, err := s.prod.ProduceSync(context.Background(), &kgo.Record{Partition: 0, Value: v}).First()
		if err != nil {
			t.Fatalf("produce: %v", err)
		}
		offs = append(offs, r.Offset)
	}
	return offs
}

func wireFormat(t *testing.T, id int, index []int, payload []byte) []byte {
	t.Helper()
	var h sr.ConfluentHeader
	b, err := h.AppendEncode(nil, id, index)
	if err != nil {
		t.Fatal(err)
	}
	return append(b, payload...)
}

// waitEntries waits until the stream has n entries and returns them.
func (s *srScenario) waitEntries(t *testing.T, n int, timeout time.Duration, p *connectorProcess) []redis.XMessage {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		msgs, err := s.rdb.XRange(context.Background(), s.streamKey(0), "-", "+").Result()
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) >= n {
			return msgs
		}
		if p != nil {
			if err := p.diedUnexpectedly(); err != nil {
				t.Fatal(err)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: got %d entries in %s, want %d", timeout, len(msgs), s.streamKey(0), n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkEntry compares an entry's fields with want, field by field.
func checkEntry(t *testing.T, what string, got redis.XMessage, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if g, ok := got.Values[k]; !ok || g != v {
			t.Errorf("%s: field %s: got %q (present %v), want %q", what, k, g, ok, v)
		}
	}
	for k := range got.Values {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: unexpected field %s = %q", what, k, got.Values[k])
		}
	}
}

// logXRange logs what `redis-cli XRANGE` shows of the stream, as a reader sees it.
func (s *srScenario) logXRange(t *testing.T, label string) {
	t.Helper()
	host, port, _ := strings.Cut(svc.redisAddr, ":")
	out, err := exec.Command("redis-cli", "-h", host, "-p", port, "XRANGE", s.streamKey(0), "-", "+", "COUNT", "1").CombinedOutput()
	if err != nil {
		t.Logf("redis-cli XRANGE: %v", err)
		return
	}
	t.Logf("%s: redis-cli XRANGE %s - + COUNT 1:\n%s", label, s.streamKey(0), out)
	recordSummary(label + " read back: " + strings.Join(strings.Fields(string(out)), " "))
}

const itOrderV1 = `{"type":"record","name":"Order","namespace":"it.shop","fields":[
  {"name":"id","type":"long"},
  {"name":"customer","type":{"type":"record","name":"Customer","fields":[
    {"name":"name","type":"string"},
    {"name":"address","type":{"type":"record","name":"Address","fields":[
      {"name":"city","type":"string"},{"name":"zip","type":["null","string"],"default":null}]}}]}},
  {"name":"payment","type":[
    {"type":"record","name":"Card","fields":[{"name":"last4","type":"string"}]},
    {"type":"record","name":"Transfer","fields":[{"name":"iban","type":"string"}]}]},
  {"name":"note","type":["null","string"],"default":null},
  {"name":"total","type":{"type":"bytes","logicalType":"decimal","precision":10,"scale":2}},
  {"name":"placed_at","type":{"type":"long","logicalType":"timestamp-millis"}},
  {"name":"due","type":{"type":"int","logicalType":"date"}},
  {"name":"status","type":{"type":"enum","name":"Status","symbols":["NEW","PAID"]}},
  {"name":"blob","type":"bytes"}]}`

// itOrderV2 adds a field with a default: a BACKWARD-compatible evolution.
var itOrderV2 = strings.Replace(itOrderV1, `{"name":"blob","type":"bytes"}]}`,
	`{"name":"blob","type":"bytes"},{"name":"channel","type":"string","default":"web"}]}`, 1)

func TestSchemaRegistryAvro(t *testing.T) {
	s := newSRScenario(t, "sr_avro")
	ctx := context.Background()
	subject := "orders-value-" + s.tag
	if res := s.reg.SetCompatibility(ctx, sr.SetCompatibility{Level: sr.CompatBackward}, subject); len(res) == 0 || res[0].Err != nil {
		t.Fatalf("set BACKWARD compatibility: %+v", res)
	}
	v1 := s.register(t, "orders-value", sr.Schema{Schema: itOrderV1})
	v2 := s.register(t, "orders-value", sr.Schema{Schema: itOrderV2})
	if v1 == v2 {
		t.Fatalf("v1 and v2 got the same id %d", v1)
	}
	order := func(id int64, note any, payment map[string]any) map[string]any {
		return map[string]any{"id": id,
			"customer": map[string]any{"name": "Zoë", "address": map[string]any{"city": "Berlin", "zip": nil}},
			"payment":  payment, "note": note, "total": big.NewRat(-123450, 100),
			"placed_at": time.UnixMilli(1796187600123), "due": time.Date(2026, 12, 24, 0, 0, 0, 0, time.UTC),
			"status": "PAID", "blob": []byte{0x00, 0xff, 0x10}}
	}
	p1, err := avro.Marshal(avro.MustParse(itOrderV1), order(1, nil, map[string]any{"it.shop.Card": map[string]any{"last4": "4242"}}))
	if err != nil {
		t.Fatal(err)
	}
	o2 := order(2, "gift", map[string]any{"it.shop.Transfer": map[string]any{"iban": "DE89"}})
	o2["channel"] = "app"
	p2, err := avro.Marshal(avro.MustParse(itOrderV2), o2)
	if err != nil {
		t.Fatal(err)
	}
	rec1 := wireFormat(t, v1, nil, p1)
	t.Logf("avro record as produced (schema id %d, %d bytes): %s", v1, len(rec1), hex.EncodeToString(rec1))
	recordSummary(fmt.Sprintf("avro produced (schema id %d): %s", v1, hex.EncodeToString(rec1)))
	offs := s.produce(t, rec1, wireFormat(t, v2, nil, p2))
	c := startConnector(t, "a", s.env("avro", nil))
	msgs := s.waitEntries(t, 2, 90*time.Second, c)
	c.stop(t)
	common := map[string]string{
		"customer": `{"name":"Zoë","address":{"city":"Berlin","zip":null}}`,
		"total":    "-1234.50", "placed_at": "2026-12-02T05:00:00.123Z", "due": "2026-12-24",
		"status": "PAID", "blob": "AP8Q",
	}
	want1 := map[string]string{"id": "1", "payment": `{"last4":"4242"}`, "note": "null", "offset": strconv.FormatInt(offs[0], 10)}
	want2 := map[string]string{"id": "2", "payment": `{"iban":"DE89"}`, "note": "gift", "channel": "app", "offset": strconv.FormatInt(offs[1], 10)}
	for k, v := range common {
		want1[k], want2[k] = v, v
	}
	checkEntry(t, "v1 record", msgs[0], want1)
	checkEntry(t, "v2 record", msgs[1], want2)
	s.logXRange(t, "avro")
}

const itMoneyProto = `syntax = "proto3";
package it.common;
message Money { int64 units = 1; string currency = 2; }
`

const itOrdersProto = `syntax = "proto3";
package it.shop;
import "it/common/money.proto";
import "google/protobuf/timestamp.proto";

message Ping { string from = 1; }
message Order {
  enum Status { NEW = 0; PAID = 1; }
  message Line { string sku = 1; uint32 qty = 2; it.common.Money price = 3; }
  int64 id = 1;
  Status status = 2;
  repeated Line lines = 3;
  it.common.Money total = 4;
  google.protobuf.Timestamp placed_at = 5;
  bytes blob = 6;
}
`

func TestSchemaRegistryProtobuf(t *testing.T) {
	s := newSRScenario(t, "sr_protobuf")
	moneySubject := "it/common/money.proto-" + s.tag
	s.register(t, "it/common/money.proto", sr.Schema{Schema: itMoneyProto, Type: sr.TypeProtobuf})
	id := s.register(t, "orders-pb-value", sr.Schema{Schema: itOrdersProto, Type: sr.TypeProtobuf,
		References: []sr.SchemaReference{{Name: "it/common/money.proto", Subject: moneySubject, Version: 1}}})

	// The producer's side: the same .proto compiled independently.
	comp := protocompile.Compiler{Resolver: protocompile.WithStandardImports(&protocompile.SourceResolver{
		Accessor: protocompile.SourceAccessorFromMap(map[string]string{"orders.proto": itOrdersProto, "it/common/money.proto": itMoneyProto})})}
	files, err := comp.Compile(context.Background(), "orders.proto")
	if err != nil {
		t.Fatal(err)
	}
	fd := files[0]
	ping, order := fd.Messages().ByName("Ping"), fd.Messages().ByName("Order")
	line := order.Messages().ByName("Line")
	marshal := func(md protoreflect.MessageDescriptor, set func(m protoreflect.Message)) []byte {
		m := dynamicpb.NewMessage(md)
		set(m)
		b, err := proto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	money := func(m protoreflect.Message, units int64) {
		m.Set(m.Descriptor().Fields().ByName("units"), protoreflect.ValueOfInt64(units))
		m.Set(m.Descriptor().Fields().ByName("currency"), protoreflect.ValueOfString("EUR"))
	}
	orderPayload := marshal(order, func(m protoreflect.Message) {
		f := order.Fields()
		m.Set(f.ByName("id"), protoreflect.ValueOfInt64(42))
		m.Set(f.ByName("status"), protoreflect.ValueOfEnum(1))
		l := m.Mutable(f.ByName("lines")).List()
		e := l.NewElement()
		e.Message().Set(line.Fields().ByName("sku"), protoreflect.ValueOfString("s-1"))
		e.Message().Set(line.Fields().ByName("qty"), protoreflect.ValueOfUint32(2))
		money(e.Message().Mutable(line.Fields().ByName("price")).Message(), 5)
		l.Append(e)
		money(m.Mutable(f.ByName("total")).Message(), 10)
		ts := m.Mutable(f.ByName("placed_at")).Message()
		ts.Set(ts.Descriptor().Fields().ByName("seconds"), protoreflect.ValueOfInt64(1796187600))
		ts.Set(ts.Descriptor().Fields().ByName("nanos"), protoreflect.ValueOfInt32(123000000))
		m.Set(f.ByName("blob"), protoreflect.ValueOfBytes([]byte{0, 0xff, 0x10}))
	})
	recOrder := wireFormat(t, id, []int{1}, orderPayload)
	t.Logf("protobuf record as produced (schema id %d, index [1]): %s", id, hex.EncodeToString(recOrder))
	recordSummary(fmt.Sprintf("protobuf produced (schema id %d, message index [1]): %s", id, hex.EncodeToString(recOrder)))
	offs := s.produce(t,
		recOrder,
		wireFormat(t, id, []int{0}, marshal(ping, func(m protoreflect.Message) {
			m.Set(ping.Fields().ByName("from"), protoreflect.ValueOfString("it"))
		})),
		wireFormat(t, id, []int{1, 0}, marshal(line, func(m protoreflect.Message) {
			m.Set(line.Fields().ByName("sku"), protoreflect.ValueOfString("s-2"))
		})),
	)
	c := startConnector(t, "a", s.env("protobuf", nil))
	msgs := s.waitEntries(t, 3, 90*time.Second, c)
	c.stop(t)
	checkEntry(t, "Order [1]", msgs[0], map[string]string{"id": "42", "status": "PAID",
		"lines": `[{"sku":"s-1","qty":2,"price":{"units":"5","currency":"EUR"}}]`,
		"total": `{"units":"10","currency":"EUR"}`, "placed_at": "2026-12-02T05:00:00.123Z", "blob": "AP8Q",
		"offset": strconv.FormatInt(offs[0], 10)})
	checkEntry(t, "Ping [0]", msgs[1], map[string]string{"from": "it", "offset": strconv.FormatInt(offs[1], 10)})
	checkEntry(t, "Order.Line [1,0]", msgs[2], map[string]string{"sku": "s-2", "qty": "0", "price": "null",
		"offset": strconv.FormatInt(offs[2], 10)})
	s.logXRange(t, "protobuf")
}

func TestSchemaRegistryJSONSchema(t *testing.T) {
	s := newSRScenario(t, "sr_jsonschema")
	id := s.register(t, "events-json-value", sr.Schema{Type: sr.TypeJSON, Schema: `{"$schema":"http://json-schema.org/draft-07/schema#",
	  "type":"object","properties":{"user":{"type":"string"},"n":{"type":"integer"},"tags":{"type":"array"},"meta":{"type":"object"}}}`})
	offs := s.produce(t, wireFormat(t, id, nil, []byte(`{"user":"ada","n":7,"tags":["a","b"],"meta":{"k":true},"gone":null}`)))
	c := startConnector(t, "a", s.env("json_schema", nil))
	msgs := s.waitEntries(t, 1, 90*time.Second, c)
	c.stop(t)
	checkEntry(t, "json schema record", msgs[0], map[string]string{"user": "ada", "n": "7", "tags": `["a","b"]`,
		"meta": `{"k":true}`, "gone": "null", "offset": strconv.FormatInt(offs[0], 10)})
}

// TestSchemaRegistryBadRecords: a record with an unknown schema id and one
// whose payload does not decode, between good ones, under each policy.
func TestSchemaRegistryBadRecords(t *testing.T) {
	const point = `{"type":"record","name":"Point","namespace":"it","fields":[{"name":"x","type":"int"}]}`
	for _, policy := range []string{"fail", "skip", "dlq"} {
		t.Run(policy, func(t *testing.T) {
			s := newSRScenario(t, "sr_bad_"+policy)
			id := s.register(t, "points-value", sr.Schema{Schema: point})
			good := wireFormat(t, id, nil, []byte{0x02}) // x = 1
			extra := map[string]string{"KRC_ERRORS_POLICY": policy}
			dlq := s.topic + "-dlq"
			if policy == "dlq" {
				createTopic(t, s.adm, dlq, 1)
				t.Cleanup(func() { _, _ = s.adm.DeleteTopics(context.Background(), dlq) })
				extra["KRC_ERRORS_DLQ_TOPIC"] = dlq
			}
			offs := s.produce(t, good, wireFormat(t, 2_000_000_000, nil, []byte{0x02}), wireFormat(t, id, nil, []byte{0x81}), good)
			c := startConnector(t, "a", s.env("avro", extra))
			if policy == "fail" {
				select {
				case <-c.done:
				case <-time.After(90 * time.Second):
					t.Fatal("connector did not stop at the record it cannot decode")
				}
				if got := exitStatus(c.err); got != "exit code 1" {
					t.Errorf("got %s, want exit code 1", got)
				}
				if log := tail(c.logPath, 40); !strings.Contains(log, "schema_not_found") {
					t.Errorf("connector output does not name schema_not_found:\n%s", log)
				}
				// The good records are written (the one after the bad
				// ones too when it was in the same batch); the bad ones
				// never are, and the commit stops before them.
				msgs, _ := s.rdb.XRange(context.Background(), s.streamKey(0), "-", "+").Result()
				if len(msgs) < 1 || len(msgs) > 2 {
					t.Errorf("got %d entries, want the good records only (1 or 2)", len(msgs))
				}
				for i, m := range msgs {
					checkEntry(t, fmt.Sprintf("good record %d", i), m, map[string]string{"x": "1", "offset": strconv.FormatInt(offs[3*i], 10)})
				}
				if got := committedOffset(t, s); got > offs[1] {
					t.Errorf("got committed offset %d, want at most %d (nothing past the bad record)", got, offs[1])
				}
				return
			}
			msgs := s.waitEntries(t, 2, 90*time.Second, c)
			c.stop(t)
			if len(msgs) != 2 {
				t.Fatalf("got %d entries, want 2", len(msgs))
			}
			for i, m := range msgs {
				checkEntry(t, fmt.Sprintf("good record %d", i), m, map[string]string{"x": "1", "offset": strconv.FormatInt(offs[3*i], 10)})
			}
			if policy == "dlq" {
				reasons := readDLQReasons(t, dlq, 2)
				if reasons[offs[1]] != "schema_not_found" || reasons[offs[2]] != "decode_failed" {
					t.Errorf("got dead-letter reasons %v, want offset %d schema_not_found, %d decode_failed", reasons, offs[1], offs[2])
				}
			}
		})
	}
}

func committedOffset(t *testing.T, s *srScenario) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	offs, err := s.adm.FetchOffsets(ctx, s.group)
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := offs.Lookup(s.topic, 0); ok {
		return o.At
	}
	return -1
}

func readDLQReasons(t *testing.T, topic string, want int) map[int64]string {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(svc.brokers...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out := map[int64]string{}
	for len(out) < want && ctx.Err() == nil {
		for _, r := range cl.PollFetches(ctx).Records() {
			var off int64 = -1
			reason := ""
			for _, h := range r.Headers {
				switch h.Key {
				case "krc.source.offset":
					off, _ = strconv.ParseInt(string(h.Value), 10, 64)
				case "krc.reason":
					reason = string(h.Value)
				}
			}
			out[off] = reason
		}
	}
	return out
}

// TestSchemaRegistryOutage stops the registry mid-run: records whose
// schema the connector knows keep flowing; a record with a new id waits
// (retried, never dead-lettered) and arrives once the registry is back;
// the oracle finds nothing lost, duplicated or reordered.
func TestSchemaRegistryOutage(t *testing.T) {
	needServiceControl(t)
	s := newSRScenario(t, "sr_outage")
	const seq = `{"type":"record","name":"Seq","namespace":"it","fields":[{"name":"seq","type":"long"},{"name":"pad","type":"string"}]}`
	const seq2 = `{"type":"record","name":"Seq","namespace":"it","fields":[{"name":"seq","type":"long"},{"name":"pad","type":"string"},{"name":"v","type":"int","default":2}]}`
	known := s.register(t, "seq-value", sr.Schema{Schema: seq})
	later := s.register(t, "seq2-value", sr.Schema{Schema: seq2})
	encode := func(schema string, id int, n int64) []byte {
		v := map[string]any{"seq": n, "pad": valuePadding}
		if id == later {
			v["v"] = 2
		}
		b, err := avro.Marshal(avro.MustParse(schema), v)
		if err != nil {
			t.Fatal(err)
		}
		return wireFormat(t, id, nil, b)
	}
	var expected []int64
	produceSeq := func(schema string, id int, from, to int64) {
		for n := from; n < to; n++ {
			s.produce(t, encode(schema, id, n))
			expected = append(expected, n)
		}
	}
	c := startConnector(t, "a", s.env("avro", map[string]string{"KRC_ERRORS_POLICY": "dlq", "KRC_ERRORS_DLQ_TOPIC": s.topic + "-dlq"}))
	produceSeq(seq, known, 0, 100)
	s.waitEntries(t, 100, 90*time.Second, c)

	registry := filepath.Join(repoRoot, "scripts", "schema-registry.sh")
	run := func(action string) {
		out, err := exec.Command("bash", registry, action).CombinedOutput()
		t.Logf("scripts/schema-registry.sh %s: %s", action, strings.TrimSpace(string(out)))
		if err != nil {
			t.Fatalf("scripts/schema-registry.sh %s: %v", action, err)
		}
	}
	run("stop")
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			run("start")
		}
	})
	if _, err := s.reg.SchemaByID(context.Background(), known); err == nil {
		t.Fatal("the registry still answers after scripts/schema-registry.sh stop")
	}
	produceSeq(seq, known, 100, 200)
	s.waitEntries(t, 200, 90*time.Second, c) // known schema: flows without the registry
	produceSeq(seq2, later, 200, 201)        // a new id: waits
	produceSeq(seq, known, 201, 250)         // behind it in the partition: waits too
	time.Sleep(5 * time.Second)
	if msgs, _ := s.rdb.XRange(context.Background(), s.streamKey(0), "-", "+").Result(); len(msgs) != 200 {
		t.Fatalf("during the outage: got %d entries, want 200 (the new id and what follows it wait)", len(msgs))
	}
	if err := c.diedUnexpectedly(); err != nil {
		t.Fatal(err)
	}
	run("start")
	restarted = true
	msgs := s.waitEntries(t, 250, 120*time.Second, c)
	c.stop(t)

	lost, dup, ooo := 0, 0, 0
	seen := map[int64]int{}
	last := int64(-1)
	for _, m := range msgs {
		n, _ := strconv.ParseInt(fmt.Sprint(m.Values["seq"]), 10, 64)
		seen[n]++
		if seen[n] > 1 {
			dup++
		}
		if n < last {
			ooo++
		}
		last = n
	}
	for _, n := range expected {
		if seen[n] == 0 {
			lost++
		}
	}
	line := fmt.Sprintf("schema registry outage: expected=%d entries=%d lost=%d duplicated=%d out_of_order=%d", len(expected), len(msgs), lost, dup, ooo)
	t.Log(line)
	recordSummary(line)
	if lost != 0 || ooo != 0 {
		t.Errorf("%s; want lost=0 out_of_order=0", line)
	}
	if v := msgs[200].Values["v"]; v != "2" {
		t.Errorf("the v2 record: got field v %v, want 2", v)
	}
	if dl := readDLQReasons(t, s.topic+"-dlq", 0); len(dl) != 0 {
		t.Errorf("got dead letters %v, want none: an unavailable registry is never the record's fault", dl)
	}
}
