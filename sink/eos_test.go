package sink_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
	"github.com/kafka-redis-connector/kafka-redis-connector/sink"
)

func eosWriter(t *testing.T, rdb redis.Cmdable, edit func(*config.Stream)) *sink.Writer {
	t.Helper()
	return newWriter(t, rdb, edit, sink.WithExactlyOnce())
}

// partitionRecs returns records offset from..to-1 of partition p of events,
// each valued with its offset.
func partitionRecs(p int32, from, to int64) []*kgo.Record {
	var out []*kgo.Record
	for o := from; o < to; o++ {
		out = append(out, rec("events", p, o, "", strconv.FormatInt(o, 10)))
	}
	return out
}

// streamOffsets returns the offset field of every entry of key, in order.
func streamOffsets(t *testing.T, m *miniredis.Miniredis, key string) []string {
	t.Helper()
	var out []string
	for _, e := range entries(t, m, key) {
		for i := 0; i+1 < len(e); i += 2 {
			if e[i] == "offset" {
				out = append(out, e[i+1])
			}
		}
	}
	return out
}

func wantOffsets(t *testing.T, got []string, from, to int64) {
	t.Helper()
	if int64(len(got)) != to-from {
		t.Fatalf("got %d entries %v, want offsets %d..%d once each", len(got), got, from, to-1)
	}
	for i, g := range got {
		if want := strconv.FormatInt(from+int64(i), 10); g != want {
			t.Fatalf("entry %d: got offset %s, want %s (all: %v)", i, g, want, got)
		}
	}
}

func mustWrite(t *testing.T, w *sink.Writer, recs []*kgo.Record) sink.Result {
	t.Helper()
	res, err := w.Write(context.Background(), recs)
	if err != nil {
		t.Fatalf("Write: got error %v, want nil", err)
	}
	for i, e := range res.Errs {
		if e != nil {
			t.Fatalf("record %d: got error %v, want nil", i, e)
		}
	}
	return res
}

func TestExactlyOnceSkipsWhatRedisHolds(t *testing.T) {
	m, rdb := newRedis(t)
	w := eosWriter(t, rdb, nil)
	if res := mustWrite(t, w, partitionRecs(0, 0, 10)); res.Deduplicated != 0 {
		t.Errorf("first write: got %d deduplicated, want 0", res.Deduplicated)
	}
	// A re-read tail overlapping what is there, plus new records.
	if res := mustWrite(t, w, partitionRecs(0, 5, 15)); res.Deduplicated != 5 {
		t.Errorf("second write: got %d deduplicated, want 5", res.Deduplicated)
	}
	wantOffsets(t, streamOffsets(t, m, "events"), 0, 15)
	if got := m.HGet("krc-offsets:{events}", "events:0"); got != "14" {
		t.Errorf("stored offset: got %q, want 14", got)
	}
}

func TestExactlyOnceScriptFlushedFallsBackToEval(t *testing.T) {
	m, rdb := newRedis(t)
	w := eosWriter(t, rdb, nil)
	if err := sink.LoadScript(context.Background(), rdb); err != nil {
		t.Fatalf("LoadScript: %v", err)
	}
	mustWrite(t, w, partitionRecs(0, 0, 3))
	// A restarted or failed-over node has an empty script cache.
	if err := rdb.ScriptFlush(context.Background()).Err(); err != nil {
		t.Fatalf("script flush: %v", err)
	}
	mustWrite(t, w, partitionRecs(0, 2, 6))
	wantOffsets(t, streamOffsets(t, m, "events"), 0, 6)
}

func TestExactlyOnceOffsetsArePerStream(t *testing.T) {
	m, rdb := newRedis(t)
	w := eosWriter(t, rdb, func(s *config.Stream) { s.Key = "s-{key}" })
	batch := []*kgo.Record{
		rec("events", 0, 0, "a", "0"), rec("events", 0, 1, "b", "1"),
		rec("events", 0, 2, "a", "2"), rec("events", 0, 3, "b", "3"),
	}
	mustWrite(t, w, batch)
	// Stream s-b and its hash are lost (a user deleted them): re-writing
	// the batch restores s-b and leaves s-a as it was.
	m.Del("s-b")
	m.Del("krc-offsets:{s-b}")
	res := mustWrite(t, w, batch)
	if res.Deduplicated != 2 {
		t.Errorf("got %d deduplicated, want 2 (those of s-a)", res.Deduplicated)
	}
	for _, key := range []string{"s-a", "s-b"} {
		if got := len(entries(t, m, key)); got != 2 {
			t.Errorf("%s: got %d entries, want 2", key, got)
		}
	}
	if got := m.HGet("krc-offsets:{s-a}", "events:0"); got != "2" {
		t.Errorf("s-a stored offset: got %q, want 2", got)
	}
	if got := m.HGet("krc-offsets:{s-b}", "events:0"); got != "3" {
		t.Errorf("s-b stored offset: got %q, want 3", got)
	}
}

func TestExactlyOncePoisonNeverStoresItsOffset(t *testing.T) {
	m, rdb := newRedis(t)
	w := eosWriter(t, rdb, func(s *config.Stream) { s.Format = "json" })
	batch := []*kgo.Record{
		rec("events", 0, 0, "", `{"n":0}`), rec("events", 0, 1, "", `not json`),
		rec("events", 1, 7, "", `not json`),
	}
	res, err := w.Write(context.Background(), batch)
	if err != nil {
		t.Fatalf("Write: got error %v, want nil (the failures are the records')", err)
	}
	if res.Errs[0] != nil || !errors.Is(res.Errs[1], sink.ErrInvalidJSON) || !errors.Is(res.Errs[2], sink.ErrInvalidJSON) {
		t.Fatalf("got errors %v, want nil, ErrInvalidJSON, ErrInvalidJSON", res.Errs)
	}
	if got := m.HGet("krc-offsets:{events}", "events:0"); got != "0" {
		t.Errorf("partition 0 stored offset: got %q, want 0 (the poison record's is never stored)", got)
	}
	if m.Exists("krc-offsets:{events}") && m.HGet("krc-offsets:{events}", "events:1") != "" {
		t.Errorf("partition 1: got a stored offset, want none (nothing of it was written)")
	}
}

func TestExactlyOnceWrongTypeFailsTheStreamsRecords(t *testing.T) {
	tests := []struct{ name, key string }{
		{"stream key", "events"},
		{"companion hash", "krc-offsets:{events}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, rdb := newRedis(t)
			if err := m.Set(tt.key, "x"); err != nil {
				t.Fatal(err)
			}
			w := eosWriter(t, rdb, nil)
			res, err := w.Write(context.Background(), partitionRecs(0, 0, 3))
			if err != nil {
				t.Fatalf("Write: got error %v, want nil (WRONGTYPE is the records')", err)
			}
			for i, e := range res.Errs {
				if !errors.Is(e, sink.ErrRejected) || sink.Retryable(e) {
					t.Errorf("record %d: got %v, want a permanent ErrRejected", i, e)
				}
			}
		})
	}
}

func TestExactlyOnceTrimKeepsTheHash(t *testing.T) {
	m, rdb := newRedis(t)
	w := eosWriter(t, rdb, func(s *config.Stream) { s.MaxLen = 3; s.ApproxTrim = false })
	mustWrite(t, w, partitionRecs(0, 0, 10))
	mustWrite(t, w, partitionRecs(0, 0, 10))
	wantOffsets(t, streamOffsets(t, m, "events"), 7, 10)
	if got := m.HGet("krc-offsets:{events}", "events:0"); got != "9" {
		t.Errorf("stored offset: got %q, want 9", got)
	}
}

// lostReplies fails the first n pipelines after they ran on the server, as
// a reply timeout or a connection reset after the script did.
type lostReplies struct {
	mu sync.Mutex
	n  int
}

func (l *lostReplies) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (l *lostReplies) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }
func (l *lostReplies) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.n > 0 {
			l.n--
			for _, c := range cmds {
				c.SetErr(fmt.Errorf("i/o timeout (scripted: the reply was lost)"))
			}
		}
		return err
	}
}

func TestExactlyOnceLostReplyIsRetriedWithoutDuplicates(t *testing.T) {
	m, rdb := newRedis(t)
	if err := sink.LoadScript(context.Background(), rdb); err != nil {
		t.Fatalf("LoadScript: %v", err)
	}
	hook := &lostReplies{n: 2}
	rdb.AddHook(hook)
	w := eosWriter(t, rdb, nil)
	batch := append(partitionRecs(0, 0, 20), partitionRecs(1, 0, 20)...)
	for attempt := 1; ; attempt++ {
		res, err := w.Write(context.Background(), batch)
		if err == nil {
			if res.Deduplicated != len(batch) {
				t.Errorf("attempt %d: got %d deduplicated, want %d (all applied before)", attempt, res.Deduplicated, len(batch))
			}
			break
		}
		if !sink.Retryable(err) || attempt > 3 {
			t.Fatalf("attempt %d: got %v, want a retryable error at most twice", attempt, err)
		}
	}
	if got := len(entries(t, m, "events")); got != 40 {
		t.Fatalf("got %d entries, want 40", got)
	}
}

// An XADD failing inside the script (here: the stream's IDs are exhausted)
// stores no offset past it and leaves the rest of its partition untried;
// the next partition of the call is tried on its own. With
// KRC_TEST_REDIS_ADDR it runs against that real Redis as well (its key
// krctest-events is overwritten).
func TestExactlyOnceFailureMidScript(t *testing.T) {
	targets := map[string]func(t *testing.T) (redis.Cmdable, func(key, field string) string){
		"miniredis": func(t *testing.T) (redis.Cmdable, func(key, field string) string) {
			m, rdb := newRedis(t)
			return rdb, m.HGet
		},
	}
	if addr := os.Getenv("KRC_TEST_REDIS_ADDR"); addr != "" {
		targets["redis-server"] = func(t *testing.T) (redis.Cmdable, func(key, field string) string) {
			rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
			t.Cleanup(func() { _ = rdb.Close() })
			return rdb, func(key, field string) string { return rdb.HGet(context.Background(), key, field).Val() }
		}
	}
	for name, target := range targets {
		t.Run(name, func(t *testing.T) {
			rdb, hget := target(t)
			ctx := context.Background()
			const stream, companion = "krctest-events", "krc-offsets:{krctest-events}"
			rdb.Del(ctx, stream, companion)
			t.Cleanup(func() { rdb.Del(ctx, stream, companion) })
			if err := rdb.XAdd(ctx, &redis.XAddArgs{Stream: stream, ID: "18446744073709551615-18446744073709551615",
				Values: []string{"seed", "1"}}).Err(); err != nil {
				t.Skipf("cannot seed an exhausted stream: %v", err)
			}
			rdb.HSet(ctx, companion, "events:0", "1")
			w := eosWriter(t, rdb, func(s *config.Stream) { s.Key = "krctest-{topic}" })
			// Partition 0: 0 and 1 are there, 2 fails, 3 is not tried;
			// partition 1: 0 fails.
			res, err := w.Write(ctx, append(partitionRecs(0, 0, 4), partitionRecs(1, 0, 1)...))
			if err == nil || !sink.Retryable(err) {
				t.Fatalf("Write: got %v, want a retryable error", err)
			}
			if res.Errs[0] != nil || res.Errs[1] != nil || res.Deduplicated != 2 {
				t.Errorf("records 0, 1: got %v, %v, %d deduplicated, want nil, nil, 2", res.Errs[0], res.Errs[1], res.Deduplicated)
			}
			if res.Errs[2] == nil || res.Errs[4] == nil {
				t.Errorf("records 2 and 4: got %v, %v, want their XADD's error", res.Errs[2], res.Errs[4])
			}
			if !errors.Is(res.Errs[3], sink.ErrNotAttempted) {
				t.Errorf("record 3: got %v, want not attempted", res.Errs[3])
			}
			if got := hget(companion, "events:0"); got != "1" {
				t.Errorf("partition 0 stored offset: got %q, want 1 (unchanged)", got)
			}
			if got := hget(companion, "events:1"); got != "" {
				t.Errorf("partition 1 stored offset: got %q, want none", got)
			}
		})
	}
}

// Two members writing one partition at once (a zombie that lost it and the
// new owner), each in order but in chunks of their own: every record ends
// up once, in order.
func TestExactlyOnceConcurrentWritersOfOnePartition(t *testing.T) {
	m, rdb := newRedis(t)
	w := eosWriter(t, rdb, nil)
	var wg sync.WaitGroup
	for _, chunk := range []int64{7, 13} {
		wg.Go(func() {
			for from := int64(0); from < 200; from += chunk {
				if _, err := w.Write(context.Background(), partitionRecs(0, from, min(from+chunk, 200))); err != nil {
					t.Errorf("Write: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	wantOffsets(t, streamOffsets(t, m, "events"), 0, 200)
}

func TestStoredOffsetsReadAndReset(t *testing.T) {
	m, rdb := newRedis(t)
	w := eosWriter(t, rdb, func(s *config.Stream) { s.Key = "{topic}-{partition}" })
	mustWrite(t, w, append(partitionRecs(0, 0, 10), partitionRecs(1, 0, 4)...))
	mustWrite(t, w, []*kgo.Record{rec("other", 0, 3, "", "x")})
	ctx := context.Background()
	got, err := sink.ReadStoredOffsets(ctx, rdb, func(topic string) bool { return topic == "events" })
	if err != nil {
		t.Fatal(err)
	}
	want := []sink.StoredOffset{{"events-0", "events", 0, 9}, {"events-1", "events", 1, 3}}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	// The group will re-read partition 0 from 5, partition 1 from the start.
	n, err := sink.ResetStoredOffsets(ctx, rdb, map[string]map[int32]int64{"events": {0: 5, 1: -1}})
	if err != nil || n != 2 {
		t.Fatalf("ResetStoredOffsets: got %d, %v, want 2 fields changed", n, err)
	}
	if got := m.HGet("krc-offsets:{events-0}", "events:0"); got != "4" {
		t.Errorf("events-0: got stored %q, want 4", got)
	}
	if m.Exists("krc-offsets:{events-1}") {
		t.Errorf("events-1: companion still exists, want it gone with its only field")
	}
	if got := m.HGet("krc-offsets:{other-0}", "other:0"); got != "3" {
		t.Errorf("other-0: got stored %q, want 3 (another topic's, untouched)", got)
	}
}

// TestExactlyOnceStreamControl: the exactly-once path honours the
// stream-control keys it supports: a null value is skipped under the
// default stream.tombstones and written with its marker under entry, and an
// explicit stream.id reaches the entry.
func TestExactlyOnceStreamControl(t *testing.T) {
	t.Run("tombstones skip", func(t *testing.T) {
		m, rdb := newRedis(t)
		w := eosWriter(t, rdb, nil)
		recs := partitionRecs(0, 0, 3)
		recs[1].Value = nil
		res := mustWrite(t, w, recs)
		if res.Tombstones != 1 || res.Skipped != 1 {
			t.Errorf("got tombstones=%d skipped=%d, want 1 and 1", res.Tombstones, res.Skipped)
		}
		if got := streamOffsets(t, m, "events"); !slices.Equal(got, []string{"0", "2"}) {
			t.Errorf("got offsets %v, want [0 2]", got)
		}
	})
	t.Run("tombstones entry", func(t *testing.T) {
		m, rdb := newRedis(t)
		w := eosWriter(t, rdb, func(s *config.Stream) { s.Tombstones = "entry" })
		recs := partitionRecs(0, 0, 2)
		recs[1].Value = nil
		mustWrite(t, w, recs)
		es := entries(t, m, "events")
		if len(es) != 2 || !slices.Contains(es[1], sink.TombstoneField) {
			t.Errorf("got entries %v, want the second with field %s", es, sink.TombstoneField)
		}
	})
	t.Run("explicit id", func(t *testing.T) {
		m, rdb := newRedis(t)
		w := eosWriter(t, rdb, func(s *config.Stream) { s.ID = "{key}" })
		recs := []*kgo.Record{rec("events", 0, 0, "5-1", "a"), rec("events", 0, 1, "7-1", "b")}
		mustWrite(t, w, recs)
		ids := []string{}
		stream, err := m.Stream("events")
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range stream {
			ids = append(ids, e.ID)
		}
		if !slices.Equal(ids, []string{"5-1", "7-1"}) {
			t.Errorf("got ids %v, want [5-1 7-1]", ids)
		}
	})
}
