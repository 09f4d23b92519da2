package connector_test

import (
	"context"
	"log/slog"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/kafka-redis-connector/kafka-redis-connector/connector"
	"github.com/kafka-redis-connector/kafka-redis-connector/internal/schemaregistry"
	"github.com/kafka-redis-connector/kafka-redis-connector/sink"
)

const seqSchema = `{"type":"record","name":"Seq","fields":[{"name":"n","type":"long"},{"name":"note","type":["null","string"]}]}`

// srEnv is env with a registry double and stream.format avro.
type srEnv struct {
	*env
	fake *srfake.Registry
	reg  *schemaregistry.Registry
}

func newSREnv(t *testing.T) *srEnv {
	t.Helper()
	e := newEnv(t, 1)
	fake := srfake.New()
	t.Cleanup(fake.Close)
	e.cfg.Stream.Format = "avro"
	e.cfg.SchemaRegistry.URL = fake.URL()
	e.cfg.SchemaRegistry.Timeout = time.Second
	if err := e.cfg.Validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	reg, err := schemaregistry.New(e.cfg.SchemaRegistry)
	if err != nil {
		t.Fatal(err)
	}
	return &srEnv{env: e, fake: fake, reg: reg}
}

func (e *srEnv) startDecoding(opts ...connector.Option) *running {
	e.t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: e.mr.Addr(), MaxRetries: -1})
	e.t.Cleanup(func() { _ = rdb.Close() })
	w, err := sink.NewWriter(rdb, e.cfg.Stream, sink.WithSchemaRegistry(e.reg))
	if err != nil {
		e.t.Fatalf("writer: %v", err)
	}
	e.t.Cleanup(w.Close)
	opts = append([]connector.Option{connector.WithLogger(slog.New(slog.NewTextHandler(newTestWriter(e.t), nil)))}, opts...)
	c := connector.New(e.cfg, w, opts...)
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{c: c, stop: cancel, done: make(chan struct{})}
	go func() {
		r.err = c.Run(ctx)
		close(r.done)
	}()
	e.t.Cleanup(func() {
		cancel()
		<-r.done
	})
	return r
}

// produceAvro produces one record per value, in order, to partition 0.
func (e *srEnv) produceAvro(values ...[]byte) {
	e.t.Helper()
	for _, v := range values {
		r, err := e.prod.ProduceSync(context.Background(), &kgo.Record{Partition: 0, Value: v}).First()
		if err != nil {
			e.t.Fatalf("produce: %v", err)
		}
		e.mu.Lock()
		e.sent[0] = append(e.sent[0], r.Offset)
		e.mu.Unlock()
	}
}

func avroWire(t *testing.T, id int, n int64) []byte {
	t.Helper()
	payload, err := avro.Marshal(avro.MustParse(seqSchema), map[string]any{"n": n, "note": nil})
	if err != nil {
		t.Fatal(err)
	}
	var h sr.ConfluentHeader
	b, _ := h.AppendEncode(nil, id, nil)
	return append(b, payload...)
}

func TestComponentSchemaRegistryUndecodableRecordsUnderDLQ(t *testing.T) {
	e := newSREnv(t)
	id, _, _ := e.fake.RegisterSchema("events-value", sr.Schema{Schema: seqSchema})
	e.cfg.Errors.Policy, e.cfg.Errors.DLQTopic = "dlq", "events-dlq"
	if _, err := e.adm.CreateTopic(context.Background(), 1, 1, nil, "events-dlq"); err != nil {
		t.Fatalf("create dlq topic: %v", err)
	}
	good := avroWire(t, id, 1)
	e.produceAvro(good, avroWire(t, 999, 2), good[:len(good)-1], good)
	r := e.startDecoding()
	e.waitEntries(2, 20*time.Second)
	waitFor(t, "2 dead letters", 10*time.Second, func() bool { return r.c.Snapshot().DeadLettered == 2 })
	r.shutdown(t)
	reasons := dlqReasons(t, e.env, 2)
	if reasons[1] != "schema_not_found" || reasons[2] != "decode_failed" {
		t.Errorf("got dead-letter reasons by offset %v, want 1: schema_not_found, 2: decode_failed", reasons)
	}
}

func TestComponentSchemaRegistryOutageWaitsAndLosesNothing(t *testing.T) {
	e := newSREnv(t)
	known, _, _ := e.fake.RegisterSchema("events-value", sr.Schema{Schema: seqSchema})
	later, _, _ := e.fake.RegisterSchema("events2-value", sr.Schema{Schema: `{"type":"record","name":"Seq2","fields":[{"name":"n","type":"long"},{"name":"note","type":["null","string"]},{"name":"x","type":"int","default":0}]}`})
	var down atomic.Bool
	e.fake.Intercept(func(w http.ResponseWriter, _ *http.Request) bool {
		if down.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return true
		}
		return false
	})
	r := e.startDecoding()
	e.produceAvro(avroWire(t, known, 1))
	e.waitEntries(1, 20*time.Second)
	down.Store(true)
	e.produceAvro(avroWire(t, known, 2), avroWire(t, known, 3))
	e.waitEntries(3, 20*time.Second) // a known schema needs no registry
	payload, _ := avro.Marshal(avro.MustParse(`{"type":"record","name":"Seq2","fields":[{"name":"n","type":"long"},{"name":"note","type":["null","string"]},{"name":"x","type":"int","default":0}]}`),
		map[string]any{"n": int64(4), "note": "v2", "x": 1})
	var h sr.ConfluentHeader
	v2, _ := h.AppendEncode(nil, later, nil)
	e.produceAvro(append(v2, payload...), avroWire(t, known, 5))
	time.Sleep(500 * time.Millisecond) // retries against the outage
	if got := len(e.entries()[0]); got != 3 {
		t.Fatalf("during the outage: got %d entries, want 3 (the new id waits, and the record after it)", got)
	}
	down.Store(false)
	e.waitEntries(5, 30*time.Second)
	r.shutdown(t)
	if got := r.c.Snapshot().DeadLettered; got != 0 {
		t.Errorf("got %d dead-lettered, want 0: an unavailable registry is never the record's fault", got)
	}
	e.verify()
}

// dlqReasons reads want dead-letter records: source offset -> reason.
func dlqReasons(t *testing.T, e *env, want int) map[int]string {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.cluster.ListenAddrs()...), kgo.ConsumeTopics("events-dlq"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out := map[int]string{}
	for len(out) < want && ctx.Err() == nil {
		for _, rec := range cl.PollFetches(ctx).Records() {
			h := map[string]string{}
			for _, hd := range rec.Headers {
				h[hd.Key] = string(hd.Value)
			}
			var off int
			for _, c := range h[connector.HeaderSourceOffset] {
				off = off*10 + int(c-'0')
			}
			out[off] = h[connector.HeaderReason]
		}
	}
	return out
}
