package sink_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
	"github.com/kafka-redis-connector/kafka-redis-connector/encryption"
	"github.com/kafka-redis-connector/kafka-redis-connector/sink"
)

func testKeys(t testing.TB) (*encryption.Keyring, *encryption.Sealer) {
	t.Helper()
	key := make([]byte, encryption.KeySize)
	_, _ = rand.Read(key)
	ring := encryption.NewKeyring()
	if err := ring.Add("k1", key); err != nil {
		t.Fatal(err)
	}
	s, err := ring.Sealer("k1")
	if err != nil {
		t.Fatal(err)
	}
	return ring, s
}

// TestWriterSeals: the value and the chosen header are stored sealed, other
// fields in clear, and the entry opens back to the record.
func TestWriterSeals(t *testing.T) {
	_, rdb := newRedis(t)
	ring, sealer := testKeys(t)
	cfg := streamConfig(func(s *config.Stream) { s.HeadersPrefix = "h." })
	w, err := sink.NewWriter(rdb, cfg, sink.WithSealer(sealer, "enc_key_id", []string{"token"}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	r := rec("orders", 2, 41, "customer-7", "card=4111111111111111")
	r.Headers = []kgo.RecordHeader{{Key: "token", Value: []byte("bearer-s3cr3t")}, {Key: "trace", Value: []byte("abc")}}
	res, err := w.Write(context.Background(), []*kgo.Record{r, rec("orders", 2, 42, "", "")})
	if err != nil || res.Written() != 2 {
		t.Fatalf("got %d written, %v, want 2, nil", res.Written(), err)
	}
	msgs, err := rdb.XRange(context.Background(), "orders", "-", "+").Result()
	if err != nil || len(msgs) != 2 {
		t.Fatalf("got %d entries, %v, want 2", len(msgs), err)
	}
	e := msgs[0].Values
	for _, f := range []string{"value", "h.token"} {
		v, _ := e[f].(string)
		if len(v) < encryption.Overhead || bytes.Contains([]byte(v), []byte("4111")) || bytes.Contains([]byte(v), []byte("s3cr3t")) {
			t.Errorf("field %s = %q: want it sealed", f, v)
		}
	}
	if e["enc_key_id"] != "k1" || e["h.trace"] != "abc" || e["key"] != "customer-7" || e["offset"] != "41" {
		t.Errorf("got clear fields %v, want enc_key_id=k1, h.trace=abc, key=customer-7, offset=41", e)
	}
	fields := encryption.EntryFields{KeyID: "enc_key_id", Sealed: config.Encryption{Headers: []string{"token"}}.SealedFields(cfg)}
	if err := ring.OpenEntry(e, fields); err != nil {
		t.Fatalf("OpenEntry: %v", err)
	}
	if e["value"] != "card=4111111111111111" || e["h.token"] != "bearer-s3cr3t" {
		t.Errorf("got %v after OpenEntry, want the record's value and token", e)
	}
	empty := msgs[1].Values
	if err := ring.OpenEntry(empty, fields); err != nil || empty["value"] != "" {
		t.Errorf("empty value: got %q, %v, want \"\", nil", empty["value"], err)
	}
}

func TestWithSealerNeedsRawFormat(t *testing.T) {
	_, s := testKeys(t)
	cfg := streamConfig(func(s *config.Stream) { s.Format = "json" })
	if _, err := sink.NewWriter(nil, cfg, sink.WithSealer(s, "enc_key_id", nil)); err == nil {
		t.Error("got nil error for json format, want one")
	}
}

// TestSealWith: the field mapping takes its sealer at construction. Its
// fields seal the value and the named header and add the key id pair, and
// the constructor refuses a sealer it cannot honour.
func TestSealWith(t *testing.T) {
	ring, sealer := testKeys(t)
	cfg := streamConfig(func(s *config.Stream) { s.HeadersPrefix = "h." })
	m, err := sink.NewFieldMapping(cfg, sink.SealWith(sealer, "enc_key_id", []string{"token"}))
	if err != nil {
		t.Fatalf("NewFieldMapping: got error %v, want nil", err)
	}
	r := rec("orders", 2, 41, "customer-7", "card=4111111111111111")
	r.Headers = []kgo.RecordHeader{{Key: "token", Value: []byte("bearer-s3cr3t")}, {Key: "trace", Value: []byte("abc")}}
	args, _, err := m.AppendFields(nil, nil, r)
	if err != nil {
		t.Fatalf("AppendFields: got error %v, want nil", err)
	}
	e := map[string]any{}
	for i := 0; i+1 < len(args); i += 2 {
		v := args[i+1]
		if b, ok := v.([]byte); ok {
			v = string(b)
		}
		e[args[i].(string)] = v
	}
	if e["enc_key_id"] != "k1" || e["h.trace"] != "abc" || e["value"] == "card=4111111111111111" || e["h.token"] == "bearer-s3cr3t" {
		t.Fatalf("got fields %v, want value and h.token sealed, enc_key_id=k1, h.trace in clear", e)
	}
	fields := encryption.EntryFields{KeyID: "enc_key_id", Sealed: config.Encryption{Headers: []string{"token"}}.SealedFields(cfg)}
	if err := ring.OpenEntry(e, fields); err != nil {
		t.Fatalf("OpenEntry: %v", err)
	}
	if e["value"] != "card=4111111111111111" || e["h.token"] != "bearer-s3cr3t" {
		t.Errorf("got %v after OpenEntry, want the record's value and token", e)
	}

	for _, tt := range []struct {
		name       string
		format     string
		keyIDField string
		want       string
	}{
		{"json format", "json", "enc_key_id", "sink: encryption needs stream.format raw"},
		{"no key id field", "raw", "", "sink: encryption needs a key id field"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := streamConfig(func(s *config.Stream) { s.Format = tt.format })
			m, err := sink.NewFieldMapping(cfg, sink.SealWith(sealer, tt.keyIDField, nil))
			if err == nil || err.Error() != tt.want {
				t.Fatalf("got mapping %v, error %v, want error %q", m, err, tt.want)
			}
		})
	}
}

// BenchmarkWriteSealed measures a Write of 50 records of 100 bytes, in clear
// and sealed, against the Redis at BENCH_REDIS_ADDR (a real redis-server;
// default: an in-process miniredis, which makes Redis look slower than it is).
func BenchmarkWriteSealed(b *testing.B) {
	var rdb *redis.Client
	if addr := os.Getenv("BENCH_REDIS_ADDR"); addr != "" {
		rdb = redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	} else {
		_, rdb = newRedisB(b)
	}
	defer rdb.Close()
	_, sealer := testKeys(b)
	value := bytes.Repeat([]byte("x"), 100)
	batch := make([]*kgo.Record, 50)
	for i := range batch {
		batch[i] = &kgo.Record{Topic: "bench-seal", Partition: 0, Offset: int64(i), Value: value, Timestamp: time.Now()}
	}
	for _, tc := range []struct {
		name string
		opts []sink.WriterOption
	}{
		{"clear", nil},
		{"sealed", []sink.WriterOption{sink.WithSealer(sealer, "enc_key_id", nil)}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			cfg := streamConfig(func(s *config.Stream) { s.Key = "bench-seal:" + tc.name; s.MaxLen = 10000 })
			w, err := sink.NewWriter(rdb, cfg, tc.opts...)
			if err != nil {
				b.Fatal(err)
			}
			defer w.Close()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := w.Write(context.Background(), batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "records/s")
			_ = rdb.Del(context.Background(), cfg.Key).Err()
		})
	}
}

// BenchmarkAppendFieldsSealed isolates the mapping's CPU cost per record.
func BenchmarkAppendFieldsSealed(b *testing.B) {
	_, sealer := testKeys(b)
	for _, size := range []int{100, 1024} {
		r := &kgo.Record{Topic: "t", Offset: 1, Value: bytes.Repeat([]byte("x"), size), Timestamp: time.Now()}
		for _, sealed := range []bool{false, true} {
			name := strconv.Itoa(size) + "B/clear"
			var opts []sink.WriterOption
			if sealed {
				name = strconv.Itoa(size) + "B/sealed"
				opts = append(opts, sink.WithSealer(sealer, "enc_key_id", nil))
			}
			b.Run(name, func(b *testing.B) {
				m := sink.MappingForBenchmark(b, streamConfig(nil), opts...)
				args, arena := make([]any, 0, 32), make([]byte, 0, 4096)
				b.ReportAllocs()
				for b.Loop() {
					var err error
					if args, arena, err = m.AppendFields(args[:0], arena[:0], r); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func newRedisB(b *testing.B) (*miniredis.Miniredis, *redis.Client) {
	b.Helper()
	m := miniredis.NewMiniRedis()
	if err := m.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(m.Close)
	return m, redis.NewClient(&redis.Options{Addr: m.Addr(), MaxRetries: -1})
}
