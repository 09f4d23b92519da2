//go:build integration

package testcontainers

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// poison is a record Redis can never accept, produced between the load's
// records: its target stream is a string key (WRONGTYPE) or its entry is
// over stream.max_entry_bytes.
type poison struct {
	kind      string // "wrongtype" or "oversize"
	partition int32
	offset    int64
	key       []byte
	value     []byte
	headers   []kgo.RecordHeader
	stream    string // the stream the connector targets
}

// poisonScenario is a scenario whose stream key is "{header:target}",
// falling back to the usual "it:{topic}:{partition}": the load's records
// have no target header and land in the usual streams; a wrongtype poison
// record names a string key in its header.
type poisonScenario struct {
	*scenario
	pr       *producer
	wrongKey string
	poisons  []poison
}

const poisonMaxEntryBytes = 4096

func newPoisonScenario(t *testing.T, name string) *poisonScenario {
	t.Helper()
	s := newScenario(t, name, 4)
	ps := &poisonScenario{scenario: s, pr: newProducer(t, s.topic, s.partitions), wrongKey: "it:" + s.topic + ":wrongtype"}
	if err := s.rdb.Set(context.Background(), ps.wrongKey, "a string, not a stream", 0).Err(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.rdb.Del(context.Background(), ps.wrongKey).Err() })
	return ps
}

func (ps *poisonScenario) env(policy string, extra map[string]string) map[string]string {
	env := ps.scenario.env(map[string]string{
		"KRC_STREAM_KEY":             "{header:target}",
		"KRC_STREAM_FALLBACK_KEY":    "it:{topic}:{partition}",
		"KRC_STREAM_MAX_ENTRY_BYTES": strconv.Itoa(poisonMaxEntryBytes),
		"KRC_ERRORS_POLICY":          policy,
	})
	for k, v := range extra {
		env[k] = v
	}
	return env
}

// producePoison produces one poison record of kind to partition p and
// remembers where it landed.
func (ps *poisonScenario) producePoison(t *testing.T, kind string, p int32) poison {
	t.Helper()
	n := len(ps.poisons)
	rec := &kgo.Record{Partition: p, Key: fmt.Appendf(nil, "poison-%d", n),
		Headers: []kgo.RecordHeader{{Key: "origin", Value: []byte("krc-it")}}}
	stream := ps.streamKey(p)
	switch kind {
	case "wrongtype":
		rec.Value = fmt.Appendf(nil, "poison %d: its stream is a string key", n)
		rec.Headers = append(rec.Headers, kgo.RecordHeader{Key: "target", Value: []byte(ps.wrongKey)})
		stream = ps.wrongKey
	case "oversize":
		rec.Value = append(fmt.Appendf(nil, "poison %d: ", n), bytes.Repeat([]byte("o"), 4*poisonMaxEntryBytes)...)
	default:
		t.Fatalf("unknown poison kind %q", kind)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := ps.pr.cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
		t.Fatalf("produce poison record: %v", err)
	}
	pz := poison{kind: kind, partition: p, offset: rec.Offset, key: rec.Key, value: rec.Value, headers: rec.Headers, stream: stream}
	ps.poisons = append(ps.poisons, pz)
	return pz
}

// poisonCount is how many poison records of each kind a run mixes in.
func poisonCount() int { return sized(3, 20) }

// mixPoison produces, while the load runs for about d, poisonCount()
// records of each kind, spread over the partitions and over d.
func (ps *poisonScenario) mixPoison(t *testing.T, d time.Duration) {
	t.Helper()
	n := poisonCount()
	for i := range n {
		time.Sleep(d / time.Duration(n+1))
		ps.producePoison(t, "wrongtype", int32(i)%ps.partitions)
		ps.producePoison(t, "oversize", int32(i+1)%ps.partitions)
	}
}

// deadLetteredCount reads dlq.count from /stats.
func deadLetteredCount(t *testing.T, statsURL string) uint64 {
	t.Helper()
	resp, err := http.Get(statsURL)
	if err != nil {
		t.Fatalf("GET %s: %v", statsURL, err)
	}
	defer resp.Body.Close()
	var st struct {
		DLQ struct {
			Count uint64 `json:"count"`
		} `json:"dlq"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatalf("GET %s: %v", statsURL, err)
	}
	return st.DLQ.Count
}

// TestFaultPoisonRecords mixes records Redis can never accept (a WRONGTYPE
// target key, entries over stream.max_entry_bytes) into a steady load, with
// each errors.policy. skip and dlq write every other record and never trip
// the breaker; dlq puts each poison record, with the krc.* headers, on the
// dead-letter topic; fail exits 1 committing nothing at or past the first
// poison record, and a restart with skip delivers the rest.
func TestFaultPoisonRecords(t *testing.T) {
	needServices(t)
	const rate = 5_000
	total := sized(30_000, 150_000)
	loadFor := time.Duration(total/rate) * time.Second

	t.Run("skip", func(t *testing.T) {
		ps := newPoisonScenario(t, "poison_skip")
		c := startWatched(t, "a", ps.env("skip", nil))
		l := startLoad(ps.pr, total, rate)
		ps.mixPoison(t, loadFor)
		l.wait(t)
		ps.awaitDelivery(t, 3*time.Minute, c.connectorProcess)
		if got, want := deadLetteredCount(t, c.statsURL), uint64(len(ps.poisons)); got != want {
			t.Errorf("skip: got dlq.count %d on /stats, want %d (the poison records)", got, want)
		}
		rss := c.maxRSSMiB()
		c.stop(t)
		for _, reason := range []string{"reason=rejected", "reason=entry_too_large"} {
			if !logHas(c.logPath, "was skipped", reason) {
				t.Errorf("skip: no log line for the first skipped record with %s", reason)
			}
		}
		ps.finish(t, "poison_skip", []*watchedConnector{c}, rss, true)
	})

	t.Run("dlq", func(t *testing.T) {
		ps := newPoisonScenario(t, "poison_dlq")
		dlq := ps.topic + "-dlq"
		createTopic(t, ps.adm, dlq, 1)
		t.Cleanup(func() { _, _ = ps.adm.DeleteTopics(context.Background(), dlq) })
		start := time.Now()
		c := startWatched(t, "a", ps.env("dlq", map[string]string{"KRC_ERRORS_DLQ_TOPIC": dlq}))
		l := startLoad(ps.pr, total, rate)
		ps.mixPoison(t, loadFor)
		l.wait(t)
		ps.awaitDelivery(t, 3*time.Minute, c.connectorProcess)
		rss := c.maxRSSMiB()
		c.stop(t)
		ps.checkDLQ(t, dlq, start)
		ps.finish(t, "poison_dlq", []*watchedConnector{c}, rss, true)
	})

	t.Run("fail", func(t *testing.T) {
		ps := newPoisonScenario(t, "poison_fail")
		a := startWatched(t, "a", ps.env("fail", nil))
		l := startLoad(ps.pr, total, rate)
		ps.waitEntries(t, int64(total/10), time.Minute, a.connectorProcess)
		ps.producePoison(t, "wrongtype", 1)
		ps.producePoison(t, "oversize", 2)
		a.stopped.Store(true) // it is meant to exit by itself
		select {
		case <-a.connectorProcess.done:
		case <-time.After(time.Minute):
			t.Fatalf("fail: the connector still runs a minute after the poison records were produced")
		}
		if got := exitStatus(a.err); got != "exit code 1" {
			t.Fatalf("fail: got %s, want exit code 1", got)
		}
		ps.checkFailCommit(t, a.logPath)
		rssA := a.maxRSSMiB()

		// The operator's way out: run again with errors.policy skip.
		b := startWatched(t, "b", ps.env("skip", nil))
		l.wait(t)
		ps.awaitDelivery(t, 3*time.Minute, b.connectorProcess)
		rss := max(rssA, b.maxRSSMiB())
		b.stop(t)
		ps.finish(t, "poison_fail", []*watchedConnector{a, b}, rss, false)
	})
}

// checkFailCommit checks the commit position after errors.policy fail: the
// exit names a poison record, its partition is committed exactly up to it
// (everything before it is in Redis, it and what follows are not
// committed), no poison partition is committed past its poison record, and
// the commit rule holds.
func (ps *poisonScenario) checkFailCommit(t *testing.T, logPath string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	committed, _, err := ps.committedAndEnd(ctx)
	if err != nil {
		t.Fatal(err)
	}
	named := -1
	for i, pz := range ps.poisons {
		if committed[pz.partition] > pz.offset {
			t.Errorf("fail: partition %d committed at %d, past its poison record at offset %d", pz.partition, committed[pz.partition], pz.offset)
		}
		if logHas(logPath, "record cannot be written", fmt.Sprintf("%s/%d@%d", ps.topic, pz.partition, pz.offset)) {
			named = i
		}
	}
	if named < 0 {
		t.Fatalf("fail: no log line names a poison record as the reason to stop:\n%s", tail(logPath, 20))
	}
	pz := ps.poisons[named]
	if committed[pz.partition] != pz.offset {
		t.Errorf("fail: partition %d committed at %d, want %d (the %s poison record that stopped the connector)",
			pz.partition, committed[pz.partition], pz.offset, pz.kind)
	}
	t.Logf("fail: exit 1 naming the %s record at %s/%d@%d; committed offsets %v", pz.kind, ps.topic, pz.partition, pz.offset, committed)
	ps.checkCommittedHeld(t)
}

// checkDLQ reads the dead-letter topic: exactly the poison records, each
// with its key, value and headers, plus the krc.* headers.
func (ps *poisonScenario) checkDLQ(t *testing.T, dlq string, start time.Time) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(svc.brokers...), kgo.ConsumeTopics(dlq),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var got []*kgo.Record
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		recs := cl.PollFetches(ctx).Records()
		cancel()
		got = append(got, recs...)
		if len(got) >= len(ps.poisons) && len(recs) == 0 {
			break // a whole poll found nothing more
		}
	}
	if len(got) != len(ps.poisons) {
		t.Errorf("dlq: got %d records on %s, want %d (the poison records)", len(got), dlq, len(ps.poisons))
	}
	want := make(map[string]poison)
	for _, pz := range ps.poisons {
		want[fmt.Sprintf("%d@%d", pz.partition, pz.offset)] = pz
	}
	for _, r := range got {
		h := make(map[string]string)
		for _, kv := range r.Headers {
			h[kv.Key] = string(kv.Value)
		}
		id := h["krc.source.partition"] + "@" + h["krc.source.offset"]
		pz, ok := want[id]
		if !ok {
			t.Errorf("dlq: record names source %s, which is no poison record (or came twice)", id)
			continue
		}
		delete(want, id)
		wantReason, wantErr := "rejected", "WRONGTYPE"
		if pz.kind == "oversize" {
			wantReason, wantErr = "entry_too_large", "max_entry_bytes"
		}
		for _, c := range []struct{ what, got, want string }{
			{"key", string(r.Key), string(pz.key)},
			{"value", string(r.Value), string(pz.value)},
			{"krc.reason", h["krc.reason"], wantReason},
			{"krc.stream", h["krc.stream"], pz.stream},
			{"krc.source.topic", h["krc.source.topic"], ps.topic},
			{"origin header", h["origin"], "krc-it"},
		} {
			if c.got != c.want {
				t.Errorf("dlq %s (%s): got %s %.60q, want %.60q", id, pz.kind, c.what, c.got, c.want)
			}
		}
		if !strings.Contains(h["krc.error"], wantErr) {
			t.Errorf("dlq %s (%s): got krc.error %q, want it to mention %s", id, pz.kind, h["krc.error"], wantErr)
		}
		if at, err := time.Parse(time.RFC3339Nano, h["krc.time"]); err != nil || at.Before(start.Add(-time.Second)) || at.After(time.Now()) {
			t.Errorf("dlq %s: got krc.time %q, want an RFC 3339 time within this test", id, h["krc.time"])
		}
	}
	for id, pz := range want {
		t.Errorf("dlq: the %s poison record at %s is missing from %s", pz.kind, id, dlq)
	}
	t.Logf("dlq: %d records on %s, one per poison record, with the krc.* headers", len(got), dlq)
}

// finish verifies the streams with the oracle, requires that the breaker
// never opened (a poison record is no Redis failure), and reports.
func (ps *poisonScenario) finish(t *testing.T, name string, procs []*watchedConnector, rss float64, noDuplicates bool) {
	t.Helper()
	ps.requireCommittedAtEnd(t)
	or := ps.verify(t, ps.pr, verifyOpts{noDuplicates: noDuplicates})
	rep := faultReport{name: name, sent: or.Expected, lost: or.Lost, dup: or.Duplicated, maxRSSMiB: rss, recoveryUnavailable: true}
	for _, p := range procs {
		rep.opens += breakerOpens(t, p.logPath)
	}
	rep.log(t)
	if rep.opens != 0 {
		t.Errorf("%s: got %d breaker opens, want 0: a poison record must never trip the breaker", name, rep.opens)
	}
	if n, err := ps.rdb.Type(context.Background(), ps.wrongKey).Result(); err != nil || n != "string" {
		t.Errorf("%s: got type %q (%v) for %s, want string: nothing may be written to it", name, n, err, ps.wrongKey)
	}
	t.Logf("%s: %d poison records mixed in", name, len(ps.poisons))
}
