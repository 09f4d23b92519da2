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

// commandCounter is a go-redis hook counting the pipelined commands by name.
type commandCounter struct {
	mu     sync.Mutex
	byName map[string]int
}

func (c *commandCounter) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (c *commandCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }
func (c *commandCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.mu.Lock()
		if c.byName == nil {
			c.byName = map[string]int{}
		}
		for _, cmd := range cmds {
			c.byName[cmd.Name()]++
		}
		c.mu.Unlock()
		return next(ctx, cmds)
	}
}

func (c *commandCounter) count(name string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.byName[name]
}

// streamIDs returns the entry IDs of the stream at key, oldest first.
func streamIDs(t *testing.T, m *miniredis.Miniredis, key string) []string {
	t.Helper()
	es, err := m.Stream(key)
	if err != nil {
		t.Fatalf("stream %q: %v", key, err)
	}
	var ids []string
	for _, e := range es {
		ids = append(ids, e.ID)
	}
	return ids
}

// An ID that is not above the stream's top, or not an ID at all, fails its
// record alone, permanently, and names its kind; the others are written.
func TestWriterExplicitIDs(t *testing.T) {
	tests := []struct {
		name    string
		id      string
		recs    []*kgo.Record
		wantIDs []string
		errs    []error // per record
	}{
		{"key ids", "{key}",
			[]*kgo.Record{rec("t", 0, 0, "5-1", "a"), rec("t", 0, 1, "5-2", "b"), rec("t", 0, 2, "5-2", "c"),
				rec("t", 0, 3, "4-9", "d"), rec("t", 0, 4, "five", "e"), rec("t", 0, 5, "", "f"), rec("t", 0, 6, "6-0", "g")},
			[]string{"5-1", "5-2", "6-0"},
			[]error{nil, nil, sink.ErrIDNotIncreasing, sink.ErrIDNotIncreasing, sink.ErrInvalidID, sink.ErrInvalidID, nil}},
		// A timestamp below the top's is refused by Redis (not by
		// miniredis, which picks the next sequence): see
		// testcontainers/streamcontrol_test.go.
		{"timestamp ids", "{timestamp}-*",
			[]*kgo.Record{tsRec(0, 1000), tsRec(1, 1000), tsRec(2, 1001)},
			[]string{"1000-0", "1000-1", "1001-0"},
			[]error{nil, nil, nil}},
		{"header ids", "{header:id}",
			[]*kgo.Record{hdrRec(0, "7-0"), hdrRec(1, "7-0"), hdrRec(2, "8-0")},
			[]string{"7-0", "8-0"},
			[]error{nil, sink.ErrIDNotIncreasing, nil}},
	}
	for _, tt := range tests {
		forTransports(t, tt.name, func(t *testing.T, opts ...sink.WriterOption) {
			m, rdb := newRedis(t)
			w := newWriter(t, rdb, func(c *config.Stream) { c.Key, c.ID = "s", tt.id }, opts...)
			res, err := w.Write(context.Background(), tt.recs)
			if err != nil {
				t.Fatalf("Write: got error %v, want nil (per-record errors only)", err)
			}
			for i, want := range tt.errs {
				got := res.Errs[i]
				if !errors.Is(got, want) || (got == nil) != (want == nil) {
					t.Errorf("record %d: got error %v, want %v", i, got, want)
				}
				if got != nil && sink.Retryable(got) {
					t.Errorf("record %d: got Retryable(%v) true, want false", i, got)
				}
			}
			if got := streamIDs(t, m, "s"); !slices.Equal(got, tt.wantIDs) {
				t.Errorf("stream IDs: got %q, want %q", got, tt.wantIDs)
			}
		})
	}
}

func tsRec(offset, ms int64) *kgo.Record {
	r := rec("t", 0, offset, "", fmt.Sprint(offset))
	r.Timestamp = time.UnixMilli(ms)
	return r
}

func hdrRec(offset int64, id string) *kgo.Record {
	r := rec("t", 0, offset, "", fmt.Sprint(offset))
	r.Headers = []kgo.RecordHeader{{Key: "id", Value: []byte(id)}}
	return r
}

// stream.max_age trims by ID; with stream.max_len as well both bounds hold
// after one write (MAXLEN on the XADDs, one XTRIM MINID per stream).
func TestWriterMaxAge(t *testing.T) {
	now := time.UnixMilli(1_000_000)
	tests := []struct {
		name    string
		maxLen  int64
		wantIDs []string
	}{
		{"age only", 0, []string{"990000-0", "995000-0", "1000000-0", "1000000-1"}},
		{"age and length", 3, []string{"995000-0", "1000000-0", "1000000-1"}},
		{"length below age", 2, []string{"1000000-0", "1000000-1"}},
	}
	for _, tt := range tests {
		forTransports(t, tt.name, func(t *testing.T, opts ...sink.WriterOption) {
			m, rdb := newRedis(t)
			for _, id := range []string{"900000-0", "989999-0", "990000-0", "995000-0"} {
				if _, err := m.XAdd("s", id, []string{"value", "old"}); err != nil {
					t.Fatal(err)
				}
			}
			w := newWriter(t, rdb, func(c *config.Stream) {
				c.Key, c.ID, c.MaxAge, c.MaxLen, c.ApproxTrim = "s", "{timestamp}-*", 10*time.Second, tt.maxLen, false
			}, append(opts, sink.WithClock(func() time.Time { return now }))...)
			res, err := w.Write(context.Background(), []*kgo.Record{tsRec(0, 1_000_000), tsRec(1, 1_000_000)})
			if err != nil || res.Written() != 2 {
				t.Fatalf("Write: got %d written, error %v, want 2, nil", res.Written(), err)
			}
			if got := streamIDs(t, m, "s"); !slices.Equal(got, tt.wantIDs) {
				t.Errorf("stream IDs: got %q, want %q", got, tt.wantIDs)
			}
		})
	}
}

// stream.ttl sets the expiry of every stream the write touched, once each.
func TestWriterTTL(t *testing.T) {
	forTransports(t, "", func(t *testing.T, opts ...sink.WriterOption) {
		m, rdb := newRedis(t)
		cc := &commandCounter{}
		rdb.AddHook(cc)
		w := newWriter(t, rdb, func(c *config.Stream) { c.Key, c.TTL = "s:{partition}", 90*time.Second }, opts...)
		m.Set("s:9", "untouched")
		m.SetTTL("s:9", time.Hour)
		recs := []*kgo.Record{rec("t", 0, 0, "", "a"), rec("t", 1, 0, "", "b"), rec("t", 0, 1, "", "c")}
		if res, err := w.Write(context.Background(), recs); err != nil || res.Written() != 3 {
			t.Fatalf("Write: got %d written, error %v, want 3, nil", res.Written(), err)
		}
		for key, want := range map[string]time.Duration{"s:0": 90 * time.Second, "s:1": 90 * time.Second, "s:9": time.Hour} {
			if got := m.TTL(key); got != want {
				t.Errorf("TTL %s: got %s, want %s", key, got, want)
			}
		}
		if len(opts) > 0 { // go-redis: the hook sees the commands
			if got := cc.count("pexpire"); got != 2 {
				t.Errorf("got %d PEXPIREs for 2 streams, want 2", got)
			}
		}
	})
}

// A null value is never written as an empty value by accident: skipped and
// counted, written as a marker entry, or its stream deleted, in order.
func TestWriterTombstones(t *testing.T) {
	tomb := func(offset int64, key string) *kgo.Record {
		r := rec("t", 0, offset, key, "")
		r.Value = nil
		return r
	}
	tests := []struct {
		name        string
		mode        string
		recs        []*kgo.Record
		want        map[string][][]string // stream -> entries; nil: no such key
		tombs, skip int
	}{
		{"skip", "skip", []*kgo.Record{rec("t", 0, 0, "k", "a"), tomb(1, "k"), rec("t", 0, 2, "k", "")},
			map[string][][]string{"s:k": {{"value", "a"}, {"value", ""}}}, 1, 1},
		{"entry", "entry", []*kgo.Record{rec("t", 0, 0, "k", "a"), tomb(1, "k"), rec("t", 0, 2, "k", "")},
			map[string][][]string{"s:k": {{"value", "a"}, {"tombstone", "1"}, {"value", ""}}}, 1, 0},
		{"delete after entries", "delete", []*kgo.Record{rec("t", 0, 0, "k", "a"), rec("t", 0, 1, "j", "b"), tomb(2, "k")},
			map[string][][]string{"s:k": nil, "s:j": {{"value", "b"}}}, 1, 0},
		{"delete then entry", "delete", []*kgo.Record{rec("t", 0, 0, "k", "a"), tomb(1, "k"), rec("t", 0, 2, "k", "c")},
			map[string][][]string{"s:k": {{"value", "c"}}}, 1, 0},
	}
	for _, tt := range tests {
		forTransports(t, tt.name, func(t *testing.T, opts ...sink.WriterOption) {
			m, rdb := newRedis(t)
			w := newWriter(t, rdb, func(c *config.Stream) {
				c.Key, c.KeyField, c.Metadata, c.Tombstones = "s:{key}", "", nil, tt.mode
			}, opts...)
			res, err := w.Write(context.Background(), tt.recs)
			if err != nil || slices.ContainsFunc(res.Errs, func(e error) bool { return e != nil }) {
				t.Fatalf("Write: got errors %v, %v, want none", res.Errs, err)
			}
			if res.Tombstones != tt.tombs || res.Skipped != tt.skip || res.Written() != len(tt.recs)-tt.skip {
				t.Errorf("got tombstones %d, skipped %d, written %d, want %d, %d, %d",
					res.Tombstones, res.Skipped, res.Written(), tt.tombs, tt.skip, len(tt.recs)-tt.skip)
			}
			for key, want := range tt.want {
				if want == nil {
					if m.Exists(key) {
						t.Errorf("key %s: got it present, want it deleted", key)
					}
					continue
				}
				if got := entries(t, m, key); !equalEntries(got, want) {
					t.Errorf("stream %s: got %q, want %q", key, got, want)
				}
			}
		})
	}
}

// A tombstone to delete whose key template does not resolve is the
// record's error: the fallback stream is never deleted.
func TestWriterTombstoneDeleteNeverDeletesFallback(t *testing.T) {
	m, rdb := newRedis(t)
	w := newWriter(t, rdb, func(c *config.Stream) { c.Key, c.FallbackKey, c.Tombstones = "s:{key}", "unrouted", "delete" })
	if _, err := m.XAdd("unrouted", "1-0", []string{"value", "keep"}); err != nil {
		t.Fatal(err)
	}
	r := rec("t", 0, 0, "", "")
	r.Value = nil
	res, err := w.Write(context.Background(), []*kgo.Record{r})
	if err != nil || !errors.Is(res.Errs[0], sink.ErrUnresolvableKey) {
		t.Fatalf("got %v, %v, want ErrUnresolvableKey for the record", res.Errs[0], err)
	}
	if !m.Exists("unrouted") {
		t.Error("got the fallback stream deleted, want it kept")
	}
}

// miniredis has no replicas (WAIT answers 0): with redis.wait_replicas the
// write is applied but not acknowledged, and its records are retryable.
func TestWriterReplicaShortfall(t *testing.T) {
	forTransports(t, "", func(t *testing.T, opts ...sink.WriterOption) {
		m, rdb := newRedis(t)
		w := newWriter(t, rdb, func(c *config.Stream) { c.Key = "s" },
			append(opts, sink.WithReplicaAcks(1, 10*time.Millisecond))...)
		res, err := w.Write(context.Background(), []*kgo.Record{rec("t", 0, 0, "", "a"), rec("t", 0, 1, "", "b")})
		if !errors.Is(err, sink.ErrReplicaShortfall) || !sink.Retryable(err) {
			t.Fatalf("Write: got error %v, want a retryable ErrReplicaShortfall", err)
		}
		for i, e := range res.Errs {
			if !errors.Is(e, sink.ErrReplicaShortfall) {
				t.Errorf("record %d: got %v, want ErrReplicaShortfall", i, e)
			}
		}
		if got := len(entries(t, m, "s")); got != 2 {
			t.Errorf("entries in the primary: got %d, want 2 (applied, not acknowledged)", got)
		}
	})
}

func TestWithReplicaAcksRejects(t *testing.T) {
	_, rdb := newRedis(t)
	if _, err := sink.NewWriter(rdb, streamConfig(nil), sink.WithReplicaAcks(1, 0)); err == nil {
		t.Error("timeout 0: got nil error, want one (WAIT n 0 blocks for ever)")
	}
}

// On a cluster the per-stream commands go in their stream's slot's
// transaction, and WAIT follows each slot's transaction on the connection
// to that slot's primary (miniredis owns every slot and has no replicas).
func TestWriterClusterStreamControl(t *testing.T) {
	m := miniredis.RunT(t)
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{m.Addr()}, MaxRetries: -1, Protocol: 2})
	t.Cleanup(func() { _ = rdb.Close() })
	var recs []*kgo.Record
	for i := range 6 {
		topic := []string{"foo", "bar", "hello"}[i%3] // slots 12182, 5061, 866
		recs = append(recs, rec(topic, 0, int64(i), "", fmt.Sprint(i)))
	}
	edit := func(c *config.Stream) { c.Key, c.TTL, c.MaxLen, c.MaxAge = "{topic}", time.Minute, 1, time.Hour }
	t.Run("ttl and both trims", func(t *testing.T) {
		w := newWriter(t, rdb, edit)
		if res, err := w.Write(context.Background(), recs); err != nil || res.Written() != len(recs) {
			t.Fatalf("Write: got %d written, error %v (%v), want %d, nil", res.Written(), err, res.Errs, len(recs))
		}
		for _, key := range []string{"foo", "bar", "hello"} {
			if got := m.TTL(key); got != time.Minute {
				t.Errorf("TTL %s: got %s, want 1m", key, got)
			}
			if got := len(entries(t, m, key)); got != 1 {
				t.Errorf("stream %s: got %d entries, want 1 (max_len)", key, got)
			}
		}
	})
	t.Run("wait", func(t *testing.T) {
		w := newWriter(t, rdb, edit, sink.WithReplicaAcks(1, 10*time.Millisecond))
		res, err := w.Write(context.Background(), recs)
		if !errors.Is(err, sink.ErrReplicaShortfall) {
			t.Fatalf("Write: got error %v, want ErrReplicaShortfall", err)
		}
		for i, e := range res.Errs {
			if !errors.Is(e, sink.ErrReplicaShortfall) {
				t.Errorf("record %d: got %v, want ErrReplicaShortfall", i, e)
			}
		}
	})
}

// The go-redis transport spells the transaction out to put WAIT after EXEC
// on the same connection: EXEC's replies still reach each record, an
// EXECABORT still fails them all, and nothing is taken for written that
// Redis only queued. (The scripted server answers WAIT with +OK, which is
// not a count: a shortfall.)
func TestWriterGoRedisWaitTransaction(t *testing.T) {
	tests := []struct {
		name    string
		reject  func(key, value string) string
		want    []string // the stream afterwards
		aborted bool
	}{
		{"applied", nil, []string{"0", "1", "2"}, false},
		{"aborted", func(_, v string) string {
			if v == "1" {
				return "OOM command not allowed when used memory > 'maxmemory'."
			}
			return ""
		}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTxRedis(t, tt.reject, nil)
			w := newWriter(t, s.client(t), func(c *config.Stream) { c.Key, c.KeyField, c.Metadata = "s", "", nil },
				sink.WithGoRedisPipeline(), sink.WithReplicaAcks(1, 10*time.Millisecond))
			recs := []*kgo.Record{rec("t", 0, 0, "", "0"), rec("t", 0, 1, "", "1"), rec("t", 0, 2, "", "2")}
			res, err := w.Write(context.Background(), recs)
			if !sink.Retryable(err) {
				t.Fatalf("Write: got error %v, want a retryable one", err)
			}
			for i, e := range res.Errs {
				switch {
				case e == nil:
					t.Errorf("record %d: got nil, want an error (aborted or not acknowledged)", i)
				case tt.aborted == errors.Is(e, sink.ErrReplicaShortfall):
					t.Errorf("record %d: got %v, want shortfall %v", i, e, !tt.aborted)
				}
			}
			if got := s.stream("s"); !slices.Equal(got, tt.want) {
				t.Errorf("stream: got %q, want %q", got, tt.want)
			}
		})
	}
}
