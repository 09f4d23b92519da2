package sink_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
	"github.com/kafka-redis-connector/kafka-redis-connector/sink"
)

// newRedis starts a miniredis and a client that, like sink.NewClient, never
// retries by itself.
func newRedis(t *testing.T) (*miniredis.Miniredis, *redis.Client) {
	t.Helper()
	m := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{
		Addr:        m.Addr(),
		MaxRetries:  -1,
		DialTimeout: time.Second,
		ReadTimeout: time.Second,
		// One dial attempt: a closed server should fail fast.
		DialerRetries: 1,
	})
	t.Cleanup(func() { _ = rdb.Close() })
	return m, rdb
}

func newWriter(t *testing.T, rdb redis.Cmdable, edit func(*config.Stream), opts ...sink.WriterOption) *sink.Writer {
	t.Helper()
	w, err := sink.NewWriter(rdb, streamConfig(edit), opts...)
	if err != nil {
		t.Fatalf("NewWriter: got error %v, want nil", err)
	}
	t.Cleanup(w.Close)
	return w
}

// forTransports runs f once per way the Writer can talk to a standalone
// Redis: its own RESP connections (the default) and go-redis pipelines.
func forTransports(t *testing.T, name string, f func(t *testing.T, opts ...sink.WriterOption)) {
	t.Helper()
	for _, tr := range []struct {
		name string
		opts []sink.WriterOption
	}{{"direct", nil}, {"go-redis", []sink.WriterOption{sink.WithGoRedisPipeline()}}} {
		sub := tr.name
		if name != "" {
			sub = name + "/" + tr.name
		}
		t.Run(sub, func(t *testing.T) { f(t, tr.opts...) })
	}
}

// entries returns the field/value lists of the stream at key, oldest first.
func entries(t *testing.T, m *miniredis.Miniredis, key string) [][]string {
	t.Helper()
	es, err := m.Stream(key)
	if err != nil {
		t.Fatalf("stream %q: %v", key, err)
	}
	out := make([][]string, len(es))
	for i, e := range es {
		out[i] = e.Values
	}
	return out
}

func rec(topic string, partition int32, offset int64, key, value string) *kgo.Record {
	r := &kgo.Record{Topic: topic, Partition: partition, Offset: offset, Value: []byte(value)}
	if key != "" {
		r.Key = []byte(key)
	}
	return r
}

func equalEntries(a, b [][]string) bool {
	return slices.EqualFunc(a, b, slices.Equal[[]string])
}

func TestNewWriterRejects(t *testing.T) {
	tests := []struct {
		name string
		edit func(*config.Stream)
	}{
		{"bad key template", func(c *config.Stream) { c.Key = "{oops}" }},
		{"empty key template", func(c *config.Stream) { c.Key = "" }},
		{"bad fallback key", func(c *config.Stream) { c.Key, c.FallbackKey = "{key}", "{" }},
		{"bad format", func(c *config.Stream) { c.Format = "xml" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if w, err := sink.NewWriter(redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}), streamConfig(tt.edit)); err == nil {
				t.Errorf("got writer %v and nil error, want an error", w)
			}
		})
	}
}

func TestWriterRoutesRecords(t *testing.T) {
	tests := []struct {
		name        string
		edit        func(*config.Stream)
		recs        []*kgo.Record
		wantStreams []string
		want        map[string][][]string
	}{
		{
			name: "topic and partition, partitions interleaved",
			edit: func(c *config.Stream) { c.Key, c.Metadata = "s:{topic}:{partition}", []string{"offset"} },
			recs: []*kgo.Record{
				rec("a", 0, 10, "k", "a0-10"),
				rec("a", 1, 20, "", "a1-20"),
				rec("a", 0, 11, "k", "a0-11"),
				rec("b", 0, 5, "", "b0-5"),
				rec("a", 0, 12, "", "a0-12"),
			},
			wantStreams: []string{"s:a:0", "s:a:1", "s:a:0", "s:b:0", "s:a:0"},
			want: map[string][][]string{
				"s:a:0": {
					{"value", "a0-10", "key", "k", "offset", "10"},
					{"value", "a0-11", "key", "k", "offset", "11"},
					{"value", "a0-12", "offset", "12"},
				},
				"s:a:1": {{"value", "a1-20", "offset", "20"}},
				"s:b:0": {{"value", "b0-5", "offset", "5"}},
			},
		},
		{
			name: "same topic, partition changes back and forth",
			edit: func(c *config.Stream) { c.Key, c.KeyField, c.Metadata = "{topic}.{partition}", "", nil },
			recs: []*kgo.Record{
				rec("t", 1, 0, "", "1"),
				rec("t", 2, 0, "", "2"),
				rec("u", 2, 0, "", "3"),
				rec("t", 2, 1, "", "4"),
			},
			wantStreams: []string{"t.1", "t.2", "u.2", "t.2"},
			want: map[string][][]string{
				"t.1": {{"value", "1"}},
				"t.2": {{"value", "2"}, {"value", "4"}},
				"u.2": {{"value", "3"}},
			},
		},
		{
			name: "per-record key within one partition",
			edit: func(c *config.Stream) { c.Key, c.KeyField, c.Metadata = "user:{key}", "", nil },
			recs: []*kgo.Record{
				rec("t", 0, 0, "alice", "1"),
				rec("t", 0, 1, "bob", "2"),
				rec("t", 0, 2, "alice", "3"),
			},
			wantStreams: []string{"user:alice", "user:bob", "user:alice"},
			want: map[string][][]string{
				"user:alice": {{"value", "1"}, {"value", "3"}},
				"user:bob":   {{"value", "2"}},
			},
		},
		{
			name: "default config writes every field",
			recs: []*kgo.Record{{
				Topic: "orders", Partition: 2, Offset: 7, Key: []byte("k"),
				Value: []byte{0x00, 0xff, 'x'}, Timestamp: time.UnixMilli(1700000000123),
			}},
			wantStreams: []string{"orders"},
			want: map[string][][]string{
				"orders": {{"value", "\x00\xffx", "key", "k", "topic", "orders", "partition", "2", "offset", "7", "timestamp", "1700000000123"}},
			},
		},
		{
			name: "json format",
			edit: func(c *config.Stream) { c.Format, c.KeyField, c.Metadata = "json", "", []string{"offset"} },
			recs: []*kgo.Record{
				rec("j", 0, 1, "", `{"b":"x","a":[1,2]}`),
				rec("j", 0, 2, "", `{"n":null}`),
			},
			wantStreams: []string{"j", "j"},
			want: map[string][][]string{
				"j": {{"b", "x", "a", "[1,2]", "offset", "1"}, {"n", "null", "offset", "2"}},
			},
		},
	}
	for _, tt := range tests {
		forTransports(t, tt.name, func(t *testing.T, opts ...sink.WriterOption) {
			m, rdb := newRedis(t)
			w := newWriter(t, rdb, tt.edit, opts...)
			res, err := w.Write(context.Background(), tt.recs)
			if err != nil {
				t.Fatalf("Write: got error %v, want nil", err)
			}
			for i, e := range res.Errs {
				if e != nil {
					t.Errorf("record %d: got error %v, want nil", i, e)
				}
			}
			if got := res.Written(); got != len(tt.recs) {
				t.Errorf("Written(): got %d, want %d", got, len(tt.recs))
			}
			if !slices.Equal(res.Streams, tt.wantStreams) {
				t.Errorf("Streams: got %q, want %q", res.Streams, tt.wantStreams)
			}
			for key, want := range tt.want {
				if got := entries(t, m, key); !equalEntries(got, want) {
					t.Errorf("stream %q:\ngot  %q\nwant %q", key, got, want)
				}
			}
			if got := len(m.Keys()); got != len(tt.want) {
				t.Errorf("keys: got %q, want %d streams", m.Keys(), len(tt.want))
			}
		})
	}
}

// xaddRecorder records the arguments of every XADD sent in a pipeline.
type xaddRecorder struct {
	mu   sync.Mutex
	args [][]any
}

func (r *xaddRecorder) DialHook(next redis.DialHook) redis.DialHook { return next }

func (r *xaddRecorder) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }

func (r *xaddRecorder) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		r.mu.Lock()
		for _, c := range cmds {
			if c.Name() == "xadd" { // not the connection's handshake
				r.args = append(r.args, c.Args())
			}
		}
		r.mu.Unlock()
		return next(ctx, cmds)
	}
}

// TestWriterTrimsJSONStreams: stream.max_len trims the streams of every
// format, on both transports. The direct transport encodes the json (and
// decoded) formats from argument lists, not from the record's bytes, and
// those lists once left the trim clause out: the stream grew unbounded.
func TestWriterTrimsJSONStreams(t *testing.T) {
	forTransports(t, "", func(t *testing.T, opts ...sink.WriterOption) {
		m, rdb := newRedis(t)
		w := newWriter(t, rdb, func(c *config.Stream) {
			c.Key, c.Format, c.Metadata, c.MaxLen, c.ApproxTrim = "s", "json", nil, 3, false
		}, opts...)
		var recs []*kgo.Record
		for i := range 10 {
			recs = append(recs, rec("t", 0, int64(i), "", fmt.Sprintf(`{"n":%d}`, i)))
		}
		for _, batch := range [][]*kgo.Record{recs[:5], recs[5:]} {
			if res, err := w.Write(context.Background(), batch); err != nil || res.Written() != len(batch) {
				t.Fatalf("Write: got %d written, error %v, want %d, nil", res.Written(), err, len(batch))
			}
		}
		got := entries(t, m, "s")
		want := [][]string{{"n", "7"}, {"n", "8"}, {"n", "9"}}
		if !slices.EqualFunc(got, want, slices.Equal) {
			t.Errorf("got entries %q, want %q (max_len 3)", got, want)
		}
	})
}

func TestWriterTrimsStreams(t *testing.T) {
	tests := []struct {
		name     string
		maxLen   int64
		approx   bool
		wantArgs []string // the arguments between the key and the ID
		wantLen  int      // exact length; -1: anything from max_len to all records
	}{
		{"no trimming", 0, true, nil, 10},
		{"exact", 3, false, []string{"maxlen", "=", "3"}, 3},
		{"approximate", 3, true, []string{"maxlen", "~", "3"}, -1},
	}
	for _, tt := range tests {
		forTransports(t, tt.name, func(t *testing.T, opts ...sink.WriterOption) {
			m, rdb := newRedis(t)
			rr := &xaddRecorder{}
			rdb.AddHook(rr)
			w := newWriter(t, rdb, func(c *config.Stream) {
				c.Key, c.KeyField, c.Metadata, c.MaxLen, c.ApproxTrim = "s", "", nil, tt.maxLen, tt.approx
			}, opts...)
			var recs []*kgo.Record
			for i := range 10 {
				recs = append(recs, rec("t", 0, int64(i), "", fmt.Sprint(i)))
			}
			// Two writes: the trim clause must survive the writer's buffer reuse.
			for _, batch := range [][]*kgo.Record{recs[:5], recs[5:]} {
				if res, err := w.Write(context.Background(), batch); err != nil || res.Written() != len(batch) {
					t.Fatalf("Write: got %d written, error %v, want %d, nil", res.Written(), err, len(batch))
				}
			}
			if len(opts) == 0 { // direct: the hooks see nothing; the stream below shows the trimming
				rr.args = nil
			} else if len(rr.args) != len(recs) {
				t.Fatalf("got %d commands, want %d", len(rr.args), len(recs))
			}
			for i, args := range rr.args {
				got := flatten(t, args)
				want := slices.Concat([]string{"xadd", "s"}, tt.wantArgs, []string{"*", "value", fmt.Sprint(i)})
				if !slices.Equal(got, want) {
					t.Errorf("command %d: got %q, want %q", i, got, want)
				}
			}
			got := entries(t, m, "s")
			switch {
			case tt.wantLen >= 0 && len(got) != tt.wantLen:
				t.Errorf("stream length: got %d, want %d", len(got), tt.wantLen)
			case tt.wantLen < 0 && (len(got) < int(tt.maxLen) || len(got) > len(recs)):
				t.Errorf("stream length: got %d, want %d..%d", len(got), tt.maxLen, len(recs))
			}
			// Trimming drops the oldest entries: the newest is always last.
			if n := len(got); n == 0 || !slices.Equal(got[n-1], []string{"value", "9"}) {
				t.Errorf("last entry: got %q, want value 9", got)
			}
		})
	}
}

func TestWriterFallbackKey(t *testing.T) {
	forTransports(t, "", func(t *testing.T, opts ...sink.WriterOption) {
		m, rdb := newRedis(t)
		w := newWriter(t, rdb, func(c *config.Stream) {
			c.Key, c.FallbackKey, c.KeyField, c.Metadata = "tenant:{header:tenant}", "orphans:{topic}", "", nil
		}, opts...)
		withTenant := rec("t", 0, 0, "", "1")
		withTenant.Headers = []kgo.RecordHeader{{Key: "tenant", Value: []byte("acme")}}
		recs := []*kgo.Record{withTenant, rec("t", 0, 1, "", "2"), rec("u", 0, 2, "", "3")}
		res, err := w.Write(context.Background(), recs)
		if err != nil {
			t.Fatalf("Write: got error %v, want nil", err)
		}
		if got := res.Written(); got != 3 {
			t.Errorf("Written(): got %d, want 3 (errors %v)", got, res.Errs)
		}
		if want := []string{"tenant:acme", "orphans:t", "orphans:u"}; !slices.Equal(res.Streams, want) {
			t.Errorf("Streams: got %q, want %q", res.Streams, want)
		}
		for key, want := range map[string][][]string{
			"tenant:acme": {{"value", "1"}},
			"orphans:t":   {{"value", "2"}},
			"orphans:u":   {{"value", "3"}},
		} {
			if got := entries(t, m, key); !equalEntries(got, want) {
				t.Errorf("stream %q: got %q, want %q", key, got, want)
			}
		}
	})
}

// A record that can never be written fails alone: the rest of its batch is
// written, and Write's error stays nil because retrying would not help.
func TestWriterPermanentFailuresFailOnlyTheirRecord(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*config.Stream)
		setup   func(t *testing.T, m *miniredis.Miniredis)
		recs    []*kgo.Record
		bad     int   // index of the failing record
		wantErr error // errors.Is target for the failing record
		want    map[string][][]string
	}{
		{
			name: "unresolvable key without fallback",
			edit: func(c *config.Stream) { c.Key, c.KeyField, c.Metadata = "k:{key}", "", nil },
			recs: []*kgo.Record{rec("t", 0, 0, "a", "1"), rec("t", 0, 1, "", "2"), rec("t", 0, 2, "a", "3")},
			bad:  1, wantErr: sink.ErrUnresolvableKey,
			want: map[string][][]string{"k:a": {{"value", "1"}, {"value", "3"}}},
		},
		{
			name: "WRONGTYPE target",
			edit: func(c *config.Stream) { c.Key, c.KeyField, c.Metadata = "{topic}", "", nil },
			setup: func(t *testing.T, m *miniredis.Miniredis) {
				if err := m.Set("taken", "a string"); err != nil {
					t.Fatal(err)
				}
			},
			recs: []*kgo.Record{rec("free", 0, 0, "", "1"), rec("taken", 0, 0, "", "2"), rec("free", 0, 1, "", "3")},
			bad:  1, wantErr: sink.ErrRejected,
			want: map[string][][]string{"free": {{"value", "1"}, {"value", "3"}}},
		},
		{
			name: "invalid JSON",
			edit: func(c *config.Stream) { c.Key, c.Format, c.KeyField, c.Metadata = "j", "json", "", nil },
			recs: []*kgo.Record{rec("t", 0, 0, "", `{"a":1}`), rec("t", 0, 1, "", `[1]`), rec("t", 0, 2, "", `{"a":3}`)},
			bad:  1, wantErr: sink.ErrInvalidJSON,
			want: map[string][][]string{"j": {{"a", "1"}, {"a", "3"}}},
		},
		{
			name: "entry too large",
			edit: func(c *config.Stream) { c.Key, c.KeyField, c.Metadata, c.MaxEntryBytes = "s", "", nil, 10 },
			recs: []*kgo.Record{rec("t", 0, 0, "", "1"), rec("t", 0, 1, "", "123456"), rec("t", 0, 2, "", "3")},
			bad:  1, wantErr: sink.ErrEntryTooLarge,
			want: map[string][][]string{"s": {{"value", "1"}, {"value", "3"}}},
		},
	}
	for _, tt := range tests {
		forTransports(t, tt.name, func(t *testing.T, opts ...sink.WriterOption) {
			m, rdb := newRedis(t)
			if tt.setup != nil {
				tt.setup(t, m)
			}
			w := newWriter(t, rdb, tt.edit, opts...)
			res, err := w.Write(context.Background(), tt.recs)
			if err != nil {
				t.Errorf("Write: got error %v, want nil", err)
			}
			if len(res.Errs) != len(tt.recs) {
				t.Fatalf("Errs: got %d, want %d", len(res.Errs), len(tt.recs))
			}
			for i, e := range res.Errs {
				switch {
				case i == tt.bad && !errors.Is(e, tt.wantErr):
					t.Errorf("record %d: got error %v, want errors.Is %v", i, e, tt.wantErr)
				case i == tt.bad && sink.Retryable(e):
					t.Errorf("Retryable(%v): got true, want false", e)
				case i != tt.bad && e != nil:
					t.Errorf("record %d: got error %v, want nil", i, e)
				}
			}
			if got, want := res.Written(), len(tt.recs)-1; got != want {
				t.Errorf("Written(): got %d, want %d", got, want)
			}
			for key, want := range tt.want {
				if got := entries(t, m, key); !equalEntries(got, want) {
					t.Errorf("stream %q: got %q, want %q", key, got, want)
				}
			}
		})
	}
}

func TestWriterUnresolvableKeyLeavesStreamEmpty(t *testing.T) {
	forTransports(t, "", func(t *testing.T, opts ...sink.WriterOption) {
		_, rdb := newRedis(t)
		w := newWriter(t, rdb, func(c *config.Stream) { c.Key = "{key}" }, opts...)
		res, err := w.Write(context.Background(), []*kgo.Record{rec("t", 0, 0, "", "1"), rec("t", 0, 1, "", "2")})
		if err != nil {
			t.Errorf("Write: got error %v, want nil", err)
		}
		for i := range res.Errs {
			if !errors.Is(res.Errs[i], sink.ErrUnresolvableKey) {
				t.Errorf("record %d: got error %v, want ErrUnresolvableKey", i, res.Errs[i])
			}
			if res.Streams[i] != "" {
				t.Errorf("record %d: got stream %q, want \"\"", i, res.Streams[i])
			}
		}
		if got := res.Written(); got != 0 {
			t.Errorf("Written(): got %d, want 0", got)
		}
	})
}

func TestWriterEmptyBatch(t *testing.T) {
	forTransports(t, "", func(t *testing.T, opts ...sink.WriterOption) {
		_, rdb := newRedis(t)
		w := newWriter(t, rdb, nil, opts...)
		res, err := w.Write(context.Background(), nil)
		if err != nil || len(res.Errs) != 0 || res.Written() != 0 {
			t.Errorf("Write(nil): got %d errs, %d written, error %v; want 0, 0, nil", len(res.Errs), res.Written(), err)
		}
	})
}

// When Redis as a whole is unavailable, every record fails retryably and
// Write says so; the same writer works again once Redis is back.
func TestWriterRetryableFailures(t *testing.T) {
	tests := []struct {
		name       string
		breakRedis func(m *miniredis.Miniredis)
		heal       func(t *testing.T, m *miniredis.Miniredis)
	}{
		{
			name:       "LOADING",
			breakRedis: func(m *miniredis.Miniredis) { m.SetError("LOADING Redis is loading the dataset in memory") },
			heal:       func(_ *testing.T, m *miniredis.Miniredis) { m.SetError("") },
		},
		{
			name:       "READONLY",
			breakRedis: func(m *miniredis.Miniredis) { m.SetError("READONLY You can't write against a read only replica.") },
			heal:       func(_ *testing.T, m *miniredis.Miniredis) { m.SetError("") },
		},
		{
			name:       "server closed",
			breakRedis: func(m *miniredis.Miniredis) { m.Close() },
			heal: func(t *testing.T, m *miniredis.Miniredis) {
				if err := m.Restart(); err != nil {
					t.Fatalf("restart: %v", err)
				}
			},
		},
	}
	for _, tt := range tests {
		forTransports(t, tt.name, func(t *testing.T, opts ...sink.WriterOption) {
			m, rdb := newRedis(t)
			w := newWriter(t, rdb, func(c *config.Stream) { c.Key, c.KeyField, c.Metadata = "{topic}", "", nil }, opts...)
			recs := []*kgo.Record{rec("a", 0, 0, "", "1"), rec("b", 0, 0, "", "2"), rec("a", 0, 1, "", "3")}
			// A first write, so a pooled connection exists when Redis breaks.
			if _, err := w.Write(context.Background(), recs[:1]); err != nil {
				t.Fatalf("first Write: got error %v, want nil", err)
			}
			tt.breakRedis(m)
			res, err := w.Write(context.Background(), recs)
			if err == nil || !sink.Retryable(err) {
				t.Errorf("Write: got error %v (retryable %v), want a retryable error", err, sink.Retryable(err))
			}
			for i, e := range res.Errs {
				if e == nil || !sink.Retryable(e) {
					t.Errorf("record %d: got error %v, want a retryable error", i, e)
				}
			}
			if got := res.Written(); got != 0 {
				t.Errorf("Written(): got %d, want 0", got)
			}
			tt.heal(t, m)
			res, err = w.Write(context.Background(), recs)
			retried := false
			if len(opts) > 0 && err != nil && sink.Retryable(err) {
				// go-redis may hand this Write the connection of the
				// refused MULTI below, its unread replies still coming:
				// the Write fails reading them (a protocol error, which
				// closes it) and goes again, as the connector's retry would.
				t.Logf("first Write after healing: %v; again", err)
				retried = true
				res, err = w.Write(context.Background(), recs)
			}
			if err != nil || res.Written() != len(recs) {
				t.Fatalf("Write after healing: got %d written, error %v, want %d, nil", res.Written(), err, len(recs))
			}
			want := map[string][][]string{"a": {{"value", "1"}, {"value", "1"}, {"value", "3"}}, "b": {{"value", "2"}}}
			if len(opts) == 0 {
				for key, want := range want {
					if got := entries(t, m, key); !equalEntries(got, want) {
						t.Errorf("stream %q: got %q, want %q", key, got, want)
					}
				}
				return
			}
			// go-redis: when the server refuses MULTI, go-redis returns at
			// that reply without reading the rest (and keeps the
			// connection: a Redis error is no bad connection to it), so the failed Write ends
			// before the server has seen the commands after MULTI; should
			// the error clear meanwhile (here: heal, in production: the
			// end of LOADING), it runs them outside the transaction. They
			// are records of this batch, written again by the retry: the
			// at_least_once contract's duplicates. Every record must be
			// there in order, and nothing but the failed Write's records
			// more, each at most once.
			late := map[string][][]string{"a": {{"value", "1"}, {"value", "3"}}, "b": {{"value", "2"}}}
			if retried { // the Write that failed after healing ran too
				for k, v := range late {
					late[k] = append(v, v...)
				}
			}
			for key, want := range want {
				if got := entries(t, m, key); !inOrderWithExtras(got, want, late[key]) {
					t.Errorf("stream %q: got %q, want %q in order, with at most %q more", key, got, want, late[key])
				}
			}
		})
	}
}

// inOrderWithExtras reports whether got holds want in order and, besides,
// only entries of extra, each at most once.
func inOrderWithExtras(got, want, extra [][]string) bool {
	left := append([][]string(nil), extra...)
	j := 0
	for _, e := range got {
		if j < len(want) && equalEntries([][]string{e}, want[j:j+1]) {
			j++
			continue
		}
		k := slices.IndexFunc(left, func(x []string) bool { return equalEntries([][]string{x}, [][]string{e}) })
		if k < 0 {
			return false
		}
		left = slices.Delete(left, k, k+1)
	}
	return j == len(want)
}

func TestWriterCanceledContext(t *testing.T) {
	forTransports(t, "", func(t *testing.T, opts ...sink.WriterOption) {
		m, rdb := newRedis(t)
		w := newWriter(t, rdb, func(c *config.Stream) { c.Key = "s" }, opts...)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		res, err := w.Write(ctx, []*kgo.Record{rec("t", 0, 0, "", "1")})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Write: got error %v, want context.Canceled", err)
		}
		if !errors.Is(res.Errs[0], context.Canceled) {
			t.Errorf("record 0: got error %v, want context.Canceled", res.Errs[0])
		}
		if got := entries(t, m, "s"); len(got) != 0 {
			t.Errorf("stream: got %q, want nothing written", got)
		}
	})
}
