//go:build integration

package testcontainers

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
	"github.com/kafka-redis-connector/kafka-redis-connector/sink"
)

// The stream-control keys (stream.id, stream.max_age, stream.ttl,
// stream.tombstones, redis.wait_replicas) against the real connector,
// Kafka and redis-server.

// metricValue reads one series (name plus labels, as /metrics prints it)
// from the connector's /metrics; 0 when absent.
func metricValue(t *testing.T, listen, series string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + listen + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			v, err := strconv.ParseFloat(rest, 64)
			if err != nil {
				t.Fatalf("metric %s: %q: %v", series, rest, err)
			}
			return v
		}
	}
	return 0
}

// xinfo renders the XINFO STREAM fields that show trimming.
func xinfo(t *testing.T, rdb redis.UniversalClient, key string) string {
	t.Helper()
	info, err := rdb.XInfoStream(context.Background(), key).Result()
	if err != nil {
		t.Fatalf("XINFO STREAM %s: %v", key, err)
	}
	return fmt.Sprintf("length=%d first-entry=%s last-entry=%s last-generated-id=%s entries-added=%d max-deleted-entry-id=%s",
		info.Length, info.FirstEntry.ID, info.LastEntry.ID, info.LastGeneratedID, info.EntriesAdded, info.MaxDeletedEntryID)
}

// streamIDs returns the entry IDs of the stream at key.
func streamIDs(t *testing.T, rdb redis.UniversalClient, key string) []string {
	t.Helper()
	msgs, err := rdb.XRange(context.Background(), key, "-", "+").Result()
	if err != nil {
		t.Fatalf("XRANGE %s: %v", key, err)
	}
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		ids[i] = m.ID
	}
	return ids
}

// produceSync produces recs to the scenario's topic and waits for them.
func produceSync(t *testing.T, pr *producer, recs ...*kgo.Record) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := pr.cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
}

func idFromMS(ms int64) string { return strconv.FormatInt(ms, 10) + "-0" }

// TestStreamControlRetention: stream.max_age with stream.max_len (exact
// trimming), stream.ttl, and a skipped tombstone. The stream starts with
// three entries older than max_age; a write of two records leaves only
// those two (the age bound: MAXLEN 5 alone would keep all five), ten more
// leave five (the length bound); every write refreshes the key's TTL.
func TestStreamControlRetention(t *testing.T) {
	s := newScenario(t, "stream_retention", 1)
	ctx := context.Background()
	key := s.streamKey(0)
	now := time.Now()
	for _, age := range []time.Duration{3 * time.Hour, 2 * time.Hour, 90 * time.Minute} {
		if err := s.rdb.XAdd(ctx, &redis.XAddArgs{Stream: key, ID: idFromMS(now.Add(-age).UnixMilli()),
			Values: []string{"value", "old"}}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("XINFO STREAM %s before: %s; PTTL %d", key, xinfo(t, s.rdb, key), s.rdb.PTTL(ctx, key).Val().Milliseconds())
	listen := freeAddr(t)
	c := startConnector(t, "a", s.env(map[string]string{
		"KRC_STREAM_MAX_AGE":     "1h",
		"KRC_STREAM_MAX_LEN":     "5",
		"KRC_STREAM_APPROX_TRIM": "false",
		"KRC_STREAM_TTL":         "10m",
		"KRC_HTTP_LISTEN":        listen,
	}))
	pr := newProducer(t, s.topic, 1)
	produceSync(t, pr, &kgo.Record{Value: recordValue(0, 0)}, &kgo.Record{Value: nil, Key: []byte("gone")},
		&kgo.Record{Value: recordValue(0, 1)})
	s.waitCaughtUp(t, time.Minute, c)

	minID := now.Add(-time.Hour).UnixMilli()
	ids := streamIDs(t, s.rdb, key)
	t.Logf("XINFO STREAM %s after 2 records and a tombstone: %s", key, xinfo(t, s.rdb, key))
	if len(ids) != 2 {
		t.Errorf("after the first write: got %d entries %q, want the 2 new ones (the 3 old ones trimmed by age)", len(ids), ids)
	}
	for _, id := range ids {
		if ms, _ := strconv.ParseInt(strings.Split(id, "-")[0], 10, 64); ms < minID {
			t.Errorf("entry %s: got it kept, want every entry older than max_age (%d) trimmed", id, minID)
		}
	}
	ttl := s.rdb.PTTL(ctx, key).Val()
	t.Logf("PTTL %s after the first write: %d ms", key, ttl.Milliseconds())
	if ttl <= 9*time.Minute || ttl > 10*time.Minute {
		t.Errorf("PTTL: got %s, want (9m, 10m]", ttl)
	}
	if got := metricValue(t, listen, `krc_records_tombstones_total{action="skip"}`); got != 1 {
		t.Errorf("krc_records_tombstones_total{action=\"skip\"}: got %v, want 1", got)
	}

	// Shorten the TTL behind the connector's back; the next write sets it
	// to stream.ttl again.
	if err := s.rdb.PExpire(ctx, key, 30*time.Second).Err(); err != nil {
		t.Fatal(err)
	}
	recs := make([]*kgo.Record, 10)
	for i := range recs {
		recs[i] = &kgo.Record{Value: recordValue(0, int64(2+i))}
	}
	produceSync(t, pr, recs...)
	s.waitCaughtUp(t, time.Minute, c)
	t.Logf("XINFO STREAM %s after 10 more records: %s", key, xinfo(t, s.rdb, key))
	if n := s.rdb.XLen(ctx, key).Val(); n != 5 {
		t.Errorf("after the second write: got %d entries, want 5 (max_len)", n)
	}
	ttl2 := s.rdb.PTTL(ctx, key).Val()
	t.Logf("PTTL %s after the second write: %d ms", key, ttl2.Milliseconds())
	if ttl2 <= 9*time.Minute || ttl2 > 10*time.Minute {
		t.Errorf("PTTL: got %s after the second write (set to 30s before it), want it refreshed to (9m, 10m]", ttl2)
	}
	c.stop(t)
}

// TestStreamControlTombstones: a null value under each stream.tombstones
// mode, next to an empty value (which is a value, not a tombstone), with a
// stream per record key.
func TestStreamControlTombstones(t *testing.T) {
	tests := []struct {
		mode   string
		k1, k2 []string // each entry's value field, or "tombstone" for the marker
	}{
		{"skip", []string{"a", ""}, []string{"b"}},
		{"entry", []string{"a", "tombstone", ""}, []string{"b"}},
		// The DEL runs in order: "a" is gone, the empty value after it stays.
		{"delete", []string{""}, []string{"b"}},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			s := newScenario(t, "stream_tombstones_"+tt.mode, 1)
			ctx := context.Background()
			k1, k2 := "it:"+s.topic+":k1", "it:"+s.topic+":k2"
			t.Cleanup(func() { _ = s.rdb.Del(context.Background(), k1, k2).Err() })
			listen := freeAddr(t)
			c := startConnector(t, "a", s.env(map[string]string{
				"KRC_STREAM_KEY":        "it:{topic}:{key}",
				"KRC_STREAM_TOMBSTONES": tt.mode,
				"KRC_HTTP_LISTEN":       listen,
			}))
			pr := newProducer(t, s.topic, 1)
			produceSync(t, pr,
				&kgo.Record{Key: []byte("k1"), Value: []byte("a")},
				&kgo.Record{Key: []byte("k1"), Value: nil},
				&kgo.Record{Key: []byte("k2"), Value: []byte("b")},
				&kgo.Record{Key: []byte("k1"), Value: []byte{}})
			s.waitCaughtUp(t, time.Minute, c)
			for key, want := range map[string][]string{k1: tt.k1, k2: tt.k2} {
				msgs, err := s.rdb.XRange(ctx, key, "-", "+").Result()
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, m := range msgs {
					v, ok := m.Values["value"]
					switch {
					case m.Values["tombstone"] == "1" && !ok:
						got = append(got, "tombstone")
					case ok:
						got = append(got, fmt.Sprint(v))
					default:
						got = append(got, fmt.Sprintf("%v", m.Values))
					}
				}
				t.Logf("%s: XRANGE %s: %q", tt.mode, key, got)
				if !slices.Equal(got, want) {
					t.Errorf("stream %s: got values %q, want %q", key, got, want)
				}
			}
			series := `krc_records_tombstones_total{action="` + tt.mode + `"}`
			if got := metricValue(t, listen, series); got != 1 {
				t.Errorf("%s: got %v, want 1", series, got)
			}
			c.stop(t)
		})
	}
}

// TestStreamControlExplicitIDs: stream.id {key} and {timestamp}-*. An ID
// not above the stream's top (a repeat, a lower one, a timestamp going
// back) and an unparsable one are per-record errors under errors.policy:
// skipped or dead-lettered with their reason, never the breaker, and the
// partition goes on.
func TestStreamControlExplicitIDs(t *testing.T) {
	type produced struct {
		key string
		ts  *int64 // ms after base; nil: the producer's clock
	}
	// Record timestamps a minute back, not near 1970: Kafka's time-based
	// retention would delete those.
	base := time.Now().Add(-time.Minute).UnixMilli()
	at := func(d int64) *int64 { return &d }
	tsID := func(d, seq int64) string { return strconv.FormatInt(base+d, 10) + "-" + strconv.FormatInt(seq, 10) }
	tests := []struct {
		name, id, policy string
		recs             []produced
		wantIDs          []string
		reasons          []string // dead-lettered, in order
	}{
		{"key ids skip", "{key}", "skip",
			[]produced{{"1-1", nil}, {"2-1", nil}, {"2-1", nil}, {"1-5", nil}, {"bad", nil}, {"3-1", nil}},
			[]string{"1-1", "2-1", "3-1"}, []string{"id_not_increasing", "id_not_increasing", "invalid_id"}},
		{"key ids dlq", "{key}", "dlq",
			[]produced{{"1-1", nil}, {"2-1", nil}, {"2-1", nil}, {"1-5", nil}, {"bad", nil}, {"3-1", nil}},
			[]string{"1-1", "2-1", "3-1"}, []string{"id_not_increasing", "id_not_increasing", "invalid_id"}},
		{"timestamp ids skip", "{timestamp}-*", "skip",
			[]produced{{"", at(0)}, {"", at(0)}, {"", at(-1000)}, {"", at(1000)}},
			[]string{tsID(0, 0), tsID(0, 1), tsID(1000, 0)}, []string{"id_not_increasing"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newScenario(t, "stream_ids", 1)
			listen := freeAddr(t)
			env := map[string]string{
				"KRC_STREAM_ID":     tt.id,
				"KRC_ERRORS_POLICY": tt.policy,
				"KRC_HTTP_LISTEN":   listen,
			}
			dlq := s.topic + ".dlq"
			if tt.policy == "dlq" {
				createTopic(t, s.adm, dlq, 1)
				t.Cleanup(func() { _, _ = s.adm.DeleteTopics(context.Background(), dlq) })
				env["KRC_ERRORS_DLQ_TOPIC"] = dlq
			}
			c := startConnector(t, "a", s.env(env))
			pr := newProducer(t, s.topic, 1)
			var recs []*kgo.Record
			for i, p := range tt.recs {
				r := &kgo.Record{Value: recordValue(0, int64(i))}
				if p.key != "" {
					r.Key = []byte(p.key)
				}
				if p.ts != nil {
					r.Timestamp = time.UnixMilli(base + *p.ts)
				}
				recs = append(recs, r)
			}
			produceSync(t, pr, recs...)
			s.waitCaughtUp(t, time.Minute, c)
			got := streamIDs(t, s.rdb, s.streamKey(0))
			t.Logf("%s: stream IDs %q", tt.name, got)
			if !slices.Equal(got, tt.wantIDs) {
				t.Errorf("stream IDs: got %q, want %q", got, tt.wantIDs)
			}
			counts := map[string]int{}
			for _, r := range tt.reasons {
				counts[r]++
			}
			for reason, want := range counts {
				series := `krc_records_dead_lettered_total{reason="` + reason + `"}`
				if got := metricValue(t, listen, series); got != float64(want) {
					t.Errorf("%s: got %v, want %d", series, got, want)
				}
			}
			if got := metricValue(t, listen, "krc_circuit_breaker_trips_total"); got != 0 {
				t.Errorf("krc_circuit_breaker_trips_total: got %v, want 0 (a record's ID is not Redis failing)", got)
			}
			if tt.policy == "dlq" {
				var gotReasons []string
				for _, r := range consumeAll(t, dlq, len(tt.reasons)) {
					for _, h := range r.Headers {
						if h.Key == "krc.reason" {
							gotReasons = append(gotReasons, string(h.Value))
						}
					}
				}
				t.Logf("%s: dead-letter topic reasons %q", tt.name, gotReasons)
				if !slices.Equal(gotReasons, tt.reasons) {
					t.Errorf("dead-letter reasons: got %q, want %q", gotReasons, tt.reasons)
				}
			}
			c.stop(t)
		})
	}
}

// consumeAll reads n records of topic from the start.
func consumeAll(t *testing.T, topic string, n int) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(svc.brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out []*kgo.Record
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("dead-letter topic %s: got %d records, want %d", topic, len(out), n)
		}
		out = append(out, fs.Records()...)
	}
	return out
}

// replica is a redis-server replicating a primary, private to the test.
type replica struct {
	addr string
	cmd  *exec.Cmd
	done chan struct{}
}

func startReplica(t *testing.T, bin, primary string) *replica {
	t.Helper()
	addr := freeAddr(t)
	host, port, _ := strings.Cut(addr, ":")
	phost, pport, _ := strings.Cut(primary, ":")
	dir := t.TempDir()
	cmd := exec.Command(bin, "--port", port, "--bind", host, "--dir", dir, "--save", "", "--appendonly", "no",
		"--logfile", filepath.Join(dir, "redis.log"), "--replicaof", phost, pport)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start replica: %v", err)
	}
	r := &replica{addr: addr, cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(r.done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGCONT) // a stopped process does not die of SIGKILL at once
		_ = cmd.Process.Kill()
		<-r.done
	})
	rdb := newRedis(t, addr)
	deadline := time.Now().Add(30 * time.Second)
	for {
		info, _ := rdb.Info(context.Background(), "replication").Result()
		if strings.Contains(info, "master_link_status:up") {
			break
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join(dir, "redis.log"))
			t.Fatalf("replica %s never linked to %s:\n%s", addr, primary, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return r
}

// TestStreamControlWaitReplica: redis.wait_replicas 1 against a private
// primary and its replica. While the replica is stopped (SIGSTOP) every
// write is applied on the primary but WAIT counts 0 replicas: each attempt
// is a shortfall, the breaker counts them and opens, and no offset is
// committed. Once the replica runs again (SIGCONT) everything is committed
// and nothing is lost; the shortfall's retries left duplicates.
func TestStreamControlWaitReplica(t *testing.T) {
	needServices(t)
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but redis-server is not installed (Debian package redis-server)")
		}
		t.Skip("needs a local redis-server binary (Debian package redis-server) for a primary and replica")
	}
	s := newScenario(t, "stream_wait", 1)
	primary := startPrivateRedis(t, bin)
	s.rdb = newRedis(t, primary.addr)
	rep := startReplica(t, bin, primary.addr)
	ctx := context.Background()
	listen := freeAddr(t)
	c := startConnector(t, "a", s.env(map[string]string{
		"KRC_REDIS_ADDRS":         primary.addr,
		"KRC_REDIS_WAIT_REPLICAS": "1",
		"KRC_REDIS_WAIT_TIMEOUT":  "100ms",
		"KRC_HTTP_LISTEN":         listen,
	}))
	pr := newProducer(t, s.topic, 1)
	pr.produce(ctx, 100)
	pr.flush(t)
	s.waitCaughtUp(t, time.Minute, c)
	if got := metricValue(t, listen, "krc_replica_ack_shortfalls_total"); got != 0 {
		t.Errorf("with the replica running: got %v shortfalls, want 0", got)
	}
	t.Logf("replica running: %s", s.progress(t))

	if err := rep.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Logf("replica %s stopped (SIGSTOP)", rep.addr)
	committed, _, err := s.committedAndEnd(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pr.produce(ctx, 100)
	pr.flush(t)
	waitFor(t, time.Minute, "shortfalls opening the breaker", []*connectorProcess{c}, func(context.Context) (bool, string) {
		sf := metricValue(t, listen, "krc_replica_ack_shortfalls_total")
		trips := metricValue(t, listen, "krc_circuit_breaker_trips_total")
		return sf >= 5 && trips >= 1, fmt.Sprintf("shortfalls %v, breaker trips %v", sf, trips)
	})
	held, end, err := s.committedAndEnd(ctx)
	if err != nil {
		t.Fatal(err)
	}
	inPrimary := s.rdb.XLen(ctx, s.streamKey(0)).Val()
	t.Logf("replica stopped: shortfalls %v, breaker trips %v, state %v; committed %v (before %v, end %v); %d entries in the primary",
		metricValue(t, listen, "krc_replica_ack_shortfalls_total"), metricValue(t, listen, "krc_circuit_breaker_trips_total"),
		metricValue(t, listen, "krc_circuit_breaker_state"), held, committed, end, inPrimary)
	if held[0] != committed[0] {
		t.Errorf("committed offset moved from %d to %d while no replica acknowledged", committed[0], held[0])
	}
	if inPrimary <= 100 {
		t.Errorf("entries in the primary: got %d, want more than 100 (the writes are applied, only not acknowledged)", inPrimary)
	}
	if logCount(c.logPath, "flush failed", "fewer replicas than redis.wait_replicas acknowledged") == 0 {
		t.Errorf("connector log: got no line naming the replica shortfall, want one")
	}

	if err := rep.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	t.Logf("replica %s resumed (SIGCONT)", rep.addr)
	s.waitCaughtUp(t, 2*time.Minute, c)
	t.Logf("replica resumed: %s", s.progress(t))
	c.stop(t)
	s.requireCommittedAtEnd(t)
	r := s.verify(t, pr, verifyOpts{})
	if r.Duplicated == 0 {
		t.Logf("no duplicates: every shortfall's retry happened to be refused before EXEC")
	}
	repLen := newRedis(t, rep.addr).XLen(ctx, s.streamKey(0)).Val()
	t.Logf("entries: primary %d, replica %d", s.rdb.XLen(ctx, s.streamKey(0)).Val(), repLen)
}

// TestStreamControlWaitTransports: the sink's WAIT on both transports
// (direct: WAIT after EXEC in one round trip; go-redis: MULTI … EXEC WAIT
// in one pipeline) against a real primary and replica: acknowledged while
// the replica runs, a shortfall (applied, not acknowledged) while it is
// stopped, acknowledged again once it runs.
func TestStreamControlWaitTransports(t *testing.T) {
	needServices(t)
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but redis-server is not installed (Debian package redis-server)")
		}
		t.Skip("needs a local redis-server binary (Debian package redis-server) for a primary and replica")
	}
	primary := startPrivateRedis(t, bin)
	rep := startReplica(t, bin, primary.addr)
	rdb := redis.NewClient(&redis.Options{Addr: primary.addr, MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })
	ctx := context.Background()
	for _, tr := range []struct {
		name string
		opts []sink.WriterOption
	}{{"direct", nil}, {"go-redis", []sink.WriterOption{sink.WithGoRedisPipeline()}}} {
		t.Run(tr.name, func(t *testing.T) {
			cfg := config.Default().Stream
			cfg.Key = "wait:" + tr.name
			w, err := sink.NewWriter(rdb, cfg, append(tr.opts, sink.WithReplicaAcks(1, 100*time.Millisecond))...)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			write := func(what string, wantShortfall bool) {
				t.Helper()
				recs := []*kgo.Record{{Topic: "t", Value: []byte(what + "-a")}, {Topic: "t", Value: []byte(what + "-b")}}
				start := time.Now()
				res, err := w.Write(ctx, recs)
				t.Logf("%s, %s: Write took %s: error %v, written %d", tr.name, what, time.Since(start).Round(time.Millisecond), err, res.Written())
				if got := errors.Is(err, sink.ErrReplicaShortfall); got != wantShortfall {
					t.Fatalf("%s: got error %v, want shortfall %v", what, err, wantShortfall)
				}
				if wantShortfall && (res.Written() != 0 || !sink.Retryable(err)) {
					t.Errorf("%s: got %d written, retryable %v, want 0 and true", what, res.Written(), sink.Retryable(err))
				}
			}
			write("running", false)
			if err := rep.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
				t.Fatal(err)
			}
			write("stopped", true)
			if err := rep.cmd.Process.Signal(syscall.SIGCONT); err != nil {
				t.Fatal(err)
			}
			write("resumed", false)
			// The shortfall's entries are on the primary: a retry adds them again.
			if n := rdb.XLen(ctx, cfg.Key).Val(); n != 6 {
				t.Errorf("entries on the primary: got %d, want 6", n)
			}
		})
	}
}
