package connector_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
	"github.com/kafka-redis-connector/kafka-redis-connector/connector"
	"github.com/kafka-redis-connector/kafka-redis-connector/internal/redisfault"
	"github.com/kafka-redis-connector/kafka-redis-connector/oracle"
	"github.com/kafka-redis-connector/kafka-redis-connector/sink"
)

// The component tests run the real pipeline between an in-process Kafka
// (kfake) and an in-process Redis (miniredis). The real-service suite in
// testcontainers/ repeats them against Apache Kafka and redis-server.

const testTopic = "events"

type env struct {
	t       *testing.T
	cluster *kfake.Cluster
	mr      *miniredis.Miniredis
	redis   *redisfault.Outage // fails mr's commands, whole transactions at a time
	adm     *kadm.Client
	prod    *kgo.Client
	cfg     config.Config

	mu   sync.Mutex
	sent map[int32][]int64 // acknowledged offsets per partition
}

func newEnv(t *testing.T, partitions int) *env {
	t.Helper()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(int32(partitions), testTopic))
	if err != nil {
		t.Fatalf("kfake: %v", err)
	}
	t.Cleanup(cluster.Close)
	mr := miniredis.RunT(t)
	prod, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...), kgo.DefaultProduceTopic(testTopic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatalf("producer: %v", err)
	}
	t.Cleanup(prod.Close)
	admCl, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...))
	if err != nil {
		t.Fatalf("admin: %v", err)
	}
	t.Cleanup(admCl.Close)

	cfg := config.Default()
	cfg.Kafka.Brokers = cluster.ListenAddrs()
	cfg.Kafka.Group = "component-" + t.Name()
	cfg.Kafka.Topics = []string{testTopic}
	cfg.Kafka.SessionTimeout = 6 * time.Second
	cfg.Kafka.RebalanceTimeout = 10 * time.Second
	cfg.Redis.Addrs = []string{mr.Addr()}
	cfg.Redis.DialTimeout = time.Second
	cfg.Redis.ReadTimeout = time.Second
	cfg.Redis.WriteTimeout = time.Second
	cfg.CircuitBreaker.Recovery = 200 * time.Millisecond
	cfg.Retry.InitialBackoff = 10 * time.Millisecond
	cfg.Retry.MaxBackoff = 50 * time.Millisecond
	cfg.FlushTimeout = time.Second
	cfg.ShutdownTimeout = 10 * time.Second
	if err := cfg.Validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	return &env{t: t, cluster: cluster, mr: mr, redis: redisfault.New(mr), adm: kadm.NewClient(admCl), prod: prod, cfg: cfg,
		sent: make(map[int32][]int64)}
}

// produce sends n records round-robin over the partitions and waits for
// their acknowledgements.
func (e *env) produce(n, partitions int) {
	e.t.Helper()
	var wg sync.WaitGroup
	var perr error
	var mu sync.Mutex
	for i := 0; i < n; i++ {
		wg.Add(1)
		rec := &kgo.Record{Partition: int32(i % partitions), Value: []byte("event-" + strconv.Itoa(i))}
		e.prod.Produce(context.Background(), rec, func(r *kgo.Record, err error) {
			defer wg.Done()
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				perr = err
				return
			}
			e.mu.Lock()
			e.sent[r.Partition] = append(e.sent[r.Partition], r.Offset)
			e.mu.Unlock()
		})
	}
	wg.Wait()
	if perr != nil {
		e.t.Fatalf("produce: %v", perr)
	}
}

func (e *env) sentCount() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, offs := range e.sent {
		n += len(offs)
	}
	return n
}

type running struct {
	c    *connector.Connector
	stop context.CancelFunc
	done chan struct{} // closed when Run returned
	err  error
	logs *logBuffer
}

func (e *env) start(opts ...connector.Option) *running {
	e.t.Helper()
	return e.startWith(e.sinkWriter(), opts...)
}

// sinkWriter returns the real sink writer on the env's miniredis.
func (e *env) sinkWriter() *sink.Writer {
	e.t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: e.mr.Addr(), MaxRetries: -1})
	e.t.Cleanup(func() { _ = rdb.Close() })
	w, err := sink.NewWriter(rdb, e.cfg.Stream)
	if err != nil {
		e.t.Fatalf("writer: %v", err)
	}
	e.t.Cleanup(w.Close)
	return w
}

// startWith runs a connector writing through w; its log lines go to the
// test log and to r.logs.
func (e *env) startWith(w connector.Writer, opts ...connector.Option) *running {
	e.t.Helper()
	r := &running{done: make(chan struct{}), logs: &logBuffer{}}
	opts = append([]connector.Option{connector.WithLogger(slog.New(slog.NewTextHandler(io.MultiWriter(newTestWriter(e.t), r.logs), nil)))}, opts...)
	c := connector.New(e.cfg, w, opts...)
	ctx, cancel := context.WithCancel(context.Background())
	r.c, r.stop = c, cancel
	go func() {
		r.err = c.Run(ctx)
		close(r.done)
	}()
	e.t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(20 * time.Second):
		}
	})
	return r
}

// logBuffer collects log lines for a test to search.
type logBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) contains(s string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Contains(b.buf.String(), s)
}

// shutdown stops a connector the way SIGTERM does and requires a clean exit.
func (r *running) shutdown(t *testing.T) {
	t.Helper()
	r.stop()
	select {
	case <-r.done:
		if r.err != nil {
			t.Fatalf("connector shutdown: got error %v, want nil", r.err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("connector did not stop within 20s")
	}
}

// entries reads the stream through miniredis directly (unaffected by
// injected errors): partition -> offsets in stream order.
func (e *env) entries() map[int32][]int64 {
	e.t.Helper()
	out := make(map[int32][]int64)
	es, err := e.mr.Stream(testTopic)
	if err != nil {
		return out
	}
	for _, en := range es {
		var p, o int64 = -1, -1
		for i := 0; i+1 < len(en.Values); i += 2 {
			switch en.Values[i] {
			case "partition":
				p, _ = strconv.ParseInt(en.Values[i+1], 10, 32)
			case "offset":
				o, _ = strconv.ParseInt(en.Values[i+1], 10, 64)
			}
		}
		if p < 0 || o < 0 {
			e.t.Fatalf("entry %s lacks partition/offset fields: %v", en.ID, en.Values)
		}
		out[int32(p)] = append(out[int32(p)], o)
	}
	return out
}

func (e *env) waitEntries(n int, timeout time.Duration) {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got := 0
		for _, offs := range e.entries() {
			got += len(offs)
		}
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("after %s: got %d stream entries, want at least %d", timeout, got, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// verify runs the oracle over what was produced and what Redis holds.
func (e *env) verify() oracle.Report {
	e.t.Helper()
	chk := oracle.NewChecker()
	e.mu.Lock()
	for p, offs := range e.sent {
		for _, o := range offs {
			chk.Expect(p, o)
		}
	}
	e.mu.Unlock()
	for p, offs := range e.entries() {
		for _, o := range offs {
			chk.Observe(p, o)
		}
	}
	r := chk.Report()
	e.t.Logf("oracle %s: %s", e.t.Name(), r)
	if !r.OK() {
		e.t.Errorf("oracle: %s; want lost=0 out_of_order=0 unexpected=0", r)
	}
	return r
}

// committed returns the group's committed offsets per partition.
func (e *env) committed() map[int32]int64 {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := e.adm.FetchOffsets(ctx, e.cfg.Kafka.Group)
	if err != nil {
		e.t.Fatalf("fetch committed offsets: %v", err)
	}
	out := make(map[int32]int64)
	resp.Each(func(o kadm.OffsetResponse) {
		if o.Topic == testTopic && o.Err == nil {
			out[o.Partition] = o.At
		}
	})
	return out
}

// endOffsets returns the high watermark of every partition.
func (e *env) endOffsets() map[int32]int64 {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ends, err := e.adm.ListEndOffsets(ctx, testTopic)
	if err != nil {
		e.t.Fatalf("end offsets: %v", err)
	}
	out := make(map[int32]int64)
	ends.Each(func(o kadm.ListedOffset) { out[o.Partition] = o.Offset })
	return out
}

// checkCommitsCovered fails when a committed offset is ahead of what Redis
// holds: every offset below the commit must have an entry.
func (e *env) checkCommitsCovered(committed map[int32]int64) {
	e.t.Helper()
	have := make(map[int32]map[int64]bool)
	for p, offs := range e.entries() {
		have[p] = make(map[int64]bool, len(offs))
		for _, o := range offs {
			have[p][o] = true
		}
	}
	for p, c := range committed {
		for o := int64(0); o < c; o++ {
			if !have[p][o] {
				e.t.Fatalf("partition %d: committed offset %d, but offset %d is not in Redis", p, c, o)
			}
		}
	}
}

func TestComponentAllRecordsArriveInOrderAndCommitted(t *testing.T) {
	for _, inFlight := range []int{1, 4} {
		t.Run(fmt.Sprintf("max_in_flight=%d", inFlight), func(t *testing.T) {
			e := newEnv(t, 4)
			e.cfg.Batch.MaxInFlight = inFlight
			e.produce(10000, 4)
			r := e.start()
			e.waitEntries(10000, 30*time.Second)
			r.shutdown(t)
			rep := e.verify()
			if rep.Entries != 10000 {
				t.Errorf("got %d entries, want 10000", rep.Entries)
			}
			committed, ends := e.committed(), e.endOffsets()
			for p, end := range ends {
				if committed[p] != end {
					t.Errorf("partition %d: committed %d, want end offset %d", p, committed[p], end)
				}
			}
			e.checkCommitsCovered(committed)
		})
	}
}

func TestComponentRedisFailureMidRun(t *testing.T) {
	e := newEnv(t, 4)
	e.produce(2000, 4)
	r := e.start()
	e.waitEntries(500, 30*time.Second)

	e.redis.Down("LOADING Redis is loading the dataset in memory")
	go e.produce(3000, 4) // produced while Redis fails: Kafka keeps it
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		e.checkCommitsCovered(e.committed())
		time.Sleep(100 * time.Millisecond)
	}
	if got := r.c.Snapshot(); !got.FetchPaused {
		t.Errorf("fetch paused during the outage: got false, want true")
	}
	e.redis.Up()
	e.waitEntries(5000, 30*time.Second)
	r.shutdown(t)
	e.verify()
	committed := e.committed()
	e.checkCommitsCovered(committed)
	for p, end := range e.endOffsets() {
		if committed[p] != end {
			t.Errorf("partition %d: committed %d after recovery, want %d", p, committed[p], end)
		}
	}
	if s := r.c.Snapshot(); s.BreakerTrips == 0 {
		t.Errorf("breaker trips during a 2s outage: got 0, want at least 1")
	}
}

// While fetching is paused the partitions are not fetched, so their high
// watermarks come from the brokers: the lag counts what is produced during
// the outage, and drops back to 0 once it is written.
func TestComponentLagWhilePaused(t *testing.T) {
	e := newEnv(t, 4)
	e.produce(1000, 4)
	r := e.start(connector.WithPausedLagRefresh(100 * time.Millisecond))
	e.waitEntries(1000, 30*time.Second)
	e.redis.Down("LOADING Redis is loading the dataset in memory")
	e.produce(100, 4) // fetched; its flush fails and pauses fetching
	waitFor(t, "fetching paused", 10*time.Second, func() bool { return r.c.Snapshot().FetchPaused })
	e.produce(3000, 4) // not fetched while paused
	waitFor(t, "lag to count the records produced during the outage", 10*time.Second, func() bool {
		return r.c.Snapshot().Lag >= 3100
	})
	s := r.c.Snapshot()
	sum := int64(0)
	for _, ps := range s.PartitionLags {
		for _, lag := range ps {
			sum += lag
		}
	}
	if sum != s.Lag || len(s.PartitionLags[testTopic]) != 4 {
		t.Errorf("partition lags %v: want 4 partitions summing to the total %d", s.PartitionLags, s.Lag)
	}
	e.redis.Up()
	e.waitEntries(4100, 30*time.Second)
	waitFor(t, "lag back to 0", 10*time.Second, func() bool { return r.c.Snapshot().Lag == 0 })
	r.shutdown(t)
	e.verify()
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestComponentSecondMemberJoinsMidRun(t *testing.T) {
	e := newEnv(t, 4)
	e.produce(3000, 4)
	a := e.start()
	e.waitEntries(1000, 30*time.Second)
	b := e.start()
	e.produce(3000, 4)
	e.waitEntries(6000, 60*time.Second)
	a.shutdown(t)
	b.shutdown(t)
	e.verify()
	e.checkCommitsCovered(e.committed())
	if got := a.c.Snapshot().Written + b.c.Snapshot().Written; got < 6000 {
		t.Errorf("written by both members: got %d, want at least 6000", got)
	}
}

func TestComponentShutdownUnderLoadLosesNothing(t *testing.T) {
	e := newEnv(t, 4)
	ctx, stopProducing := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			e.produce(200, 4)
		}
	}()
	r := e.start()
	e.waitEntries(2000, 30*time.Second)
	r.shutdown(t) // SIGTERM-style, while records keep arriving

	// Everything below the committed offsets is in Redis.
	e.checkCommitsCovered(e.committed())
	stopProducing()
	wg.Wait()

	// What was not committed is delivered after a restart.
	r2 := e.start()
	e.waitEntries(e.sentCount(), 30*time.Second)
	r2.shutdown(t)
	e.verify()
	committed := e.committed()
	for p, end := range e.endOffsets() {
		if committed[p] != end {
			t.Errorf("partition %d: committed %d, want %d", p, committed[p], end)
		}
	}
}

func TestComponentPoisonRecordPolicies(t *testing.T) {
	for _, tc := range []struct {
		policy       config.ErrorPolicy
		wantStop     bool
		wantCommit   int64 // committed offset of partition 0 at the end
		wantEntries  int
		wantDLQCount int
	}{
		{policy: "fail", wantStop: true, wantCommit: 20, wantEntries: 29},
		{policy: "skip", wantCommit: 30, wantEntries: 29},
		{policy: "dlq", wantCommit: 30, wantEntries: 29, wantDLQCount: 1},
	} {
		t.Run(string(tc.policy), func(t *testing.T) {
			e := newEnv(t, 1)
			e.cfg.Stream.Key = "{header:tenant}"
			e.cfg.Errors.Policy = tc.policy
			if tc.policy == config.PolicyDLQ {
				e.cfg.Errors.DLQTopic = "events-dlq"
				admCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				if _, err := e.adm.CreateTopic(admCtx, 1, 1, nil, "events-dlq"); err != nil {
					t.Fatalf("create dlq topic: %v", err)
				}
			}
			for i := 0; i < 30; i++ {
				rec := &kgo.Record{Partition: 0, Key: []byte("k"), Value: []byte(fmt.Sprint(i)),
					Headers: []kgo.RecordHeader{{Key: "tenant", Value: []byte(testTopic)}}}
				if i == 20 {
					rec.Headers = []kgo.RecordHeader{{Key: "other", Value: []byte("x")}} // {header:tenant} unresolvable, no fallback
				}
				if err := e.prod.ProduceSync(context.Background(), rec).FirstErr(); err != nil {
					t.Fatalf("produce: %v", err)
				}
			}
			r := e.start()
			if tc.wantStop {
				select {
				case <-r.done:
					if !errors.Is(r.err, connector.ErrPermanentRecord) || !errors.Is(r.err, sink.ErrUnresolvableKey) {
						t.Fatalf("got error %v, want ErrPermanentRecord wrapping ErrUnresolvableKey", r.err)
					}
				case <-time.After(20 * time.Second):
					t.Fatal("connector did not stop on a record it cannot write")
				}
			} else {
				e.waitEntries(tc.wantEntries, 20*time.Second)
				deadline := time.Now().Add(10 * time.Second)
				for e.committed()[0] != tc.wantCommit && time.Now().Before(deadline) {
					time.Sleep(20 * time.Millisecond)
				}
				r.shutdown(t)
				if got := r.c.Snapshot().DeadLettered; got != 1 {
					t.Errorf("dead-lettered count: got %d, want 1", got)
				}
			}
			if got := e.committed()[0]; got != tc.wantCommit {
				t.Errorf("committed offset: got %d, want %d", got, tc.wantCommit)
			}
			got := 0
			for _, offs := range e.entries() {
				got += len(offs)
			}
			if tc.wantStop && got > tc.wantEntries || !tc.wantStop && got != tc.wantEntries {
				t.Errorf("stream entries: got %d, want %d", got, tc.wantEntries)
			}
			if tc.wantDLQCount > 0 {
				checkDLQ(t, e, tc.wantDLQCount)
			}
		})
	}
}

// checkDLQ reads the dead-letter topic and checks the record and its headers.
func checkDLQ(t *testing.T, e *env, want int) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.cluster.ListenAddrs()...), kgo.ConsumeTopics("events-dlq"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatalf("dlq consumer: %v", err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var got []*kgo.Record
	for len(got) < want && ctx.Err() == nil {
		got = append(got, cl.PollFetches(ctx).Records()...)
	}
	if len(got) != want {
		t.Fatalf("dead-letter records: got %d, want %d", len(got), want)
	}
	rec := got[0]
	if string(rec.Value) != "20" || string(rec.Key) != "k" {
		t.Errorf("dead-letter record: got key %q value %q, want the original k/20", rec.Key, rec.Value)
	}
	h := map[string]string{}
	for _, hd := range rec.Headers {
		h[hd.Key] = string(hd.Value)
	}
	for k, v := range map[string]string{
		"other":                         "x",
		connector.HeaderSourceTopic:     testTopic,
		connector.HeaderSourcePartition: "0",
		connector.HeaderSourceOffset:    "20",
		connector.HeaderReason:          "unresolvable_key",
	} {
		if h[k] != v {
			t.Errorf("dead-letter header %s: got %q, want %q", k, h[k], v)
		}
	}
	if !strings.Contains(h[connector.HeaderError], "cannot be resolved") || h[connector.HeaderTime] == "" {
		t.Errorf("dead-letter headers: got error %q time %q, want the error text and a time", h[connector.HeaderError], h[connector.HeaderTime])
	}
}

// testWriter sends the connector's log lines to the test log, and drops
// them once the test ended (a goroutine abandoned by a forced stop may
// still log; t.Log would panic).
type testWriter struct {
	t     *testing.T
	ended *atomic.Bool
}

func newTestWriter(t *testing.T) testWriter {
	w := testWriter{t: t, ended: new(atomic.Bool)}
	t.Cleanup(func() { w.ended.Store(true) })
	return w
}

func (w testWriter) Write(p []byte) (int, error) {
	if !w.ended.Load() {
		w.t.Log(strings.TrimSpace(string(p)))
	}
	return len(p), nil
}
