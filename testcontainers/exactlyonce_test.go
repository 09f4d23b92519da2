//go:build integration

package testcontainers

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kafka-redis-connector/kafka-redis-connector/oracle"
	"github.com/kafka-redis-connector/kafka-redis-connector/sink"
)

// The exactly-once scenarios (issue 13): the fault scenarios of the
// at_least_once suite run again with delivery.guarantee exactly_once, and
// each must end with duplicated = 0 as well as lost = 0 and
// out_of_order = 0. Their oracle lines sit beside the at_least_once ones in
// docs/RELIABILITY.md.

// exactlyOnce adds the guarantee to a connector environment.
func exactlyOnce(env map[string]string) map[string]string {
	out := map[string]string{"KRC_DELIVERY_GUARANTEE": "exactly_once"}
	for k, v := range env {
		out[k] = v
	}
	return out
}

// TestExactlyOnceConnectorKills is TestFaultConnectorKills under
// exactly_once: 10 SIGKILLs (short: 3) during 500,000 records (short:
// 50,000). Each restart re-reads the uncommitted tail, which the script
// skips.
func TestExactlyOnceConnectorKills(t *testing.T) {
	needServices(t)
	total := sized(50_000, 500_000)
	kills := sized(3, 10)
	rate := sized(2_500, 5_000)
	s := newScenario(t, "eos_connector_kills", 4)
	pr := newProducer(t, s.topic, s.partitions)
	env := s.env(exactlyOnce(map[string]string{"KRC_KAFKA_SESSION_TIMEOUT": killSessionTimeout.String()}))
	l := startLoad(pr, total, rate)

	var procs []*watchedConnector
	var worst time.Duration
	var rss float64
	for i := 0; ; i++ {
		started := time.Now()
		c := startWatched(t, fmt.Sprintf("run%02d", i), env)
		procs = append(procs, c)
		worst = max(worst, c.firstWriteAfter(t, started, 2*time.Minute))
		if i == kills {
			break
		}
		time.Sleep(500*time.Millisecond + rand.N(2*time.Second))
		rss = max(rss, c.maxRSSMiB())
		c.kill(t)
		s.checkCommittedHeld(t)
		t.Logf("kill %d of %d: %s", i+1, kills, s.progress(t))
	}
	last := procs[len(procs)-1]
	l.wait(t)
	s.awaitDelivery(t, 5*time.Minute, last.connectorProcess)
	rss = max(rss, last.maxRSSMiB())
	last.stop(t)
	s.requireCommittedAtEnd(t)
	or := s.verify(t, pr, verifyOpts{noDuplicates: true})
	rep := faultReport{name: fmt.Sprintf("eos_connector_sigkill_x%d", kills), sent: or.Expected, lost: or.Lost,
		dup: or.Duplicated, maxRSSMiB: rss, recovery: worst}
	for _, p := range procs {
		rep.opens += breakerOpens(t, p.logPath)
	}
	rep.log(t)
}

// TestExactlyOnceRedisReplyTimeout is TestFaultRedisReplyTimeout under
// exactly_once: every reply comes after the script ran, and the retries
// add nothing.
func TestExactlyOnceRedisReplyTimeout(t *testing.T) {
	needServices(t)
	px := startRedisProxy(t, svc.redisAddr)
	runRedisFault(t, redisFault{
		name: "eos_redis_reply_timeout", rate: faultLoad,
		lead: 4 * time.Second, hold: sized(14*time.Second, 30*time.Second), tail: sized(4*time.Second, 10*time.Second),
		env:       exactlyOnce(map[string]string{"KRC_REDIS_READ_TIMEOUT": "1s", "KRC_FLUSH_TIMEOUT": "5s"}),
		redisAddr: px.addr,
		inject: func(t *testing.T) {
			px.add(t, toxic{Name: "late", Type: "latency", Stream: "downstream",
				Attributes: map[string]any{"latency": 2500}})
		},
		heal:         func(t *testing.T) { px.remove(t, "late") },
		maxOpens:     -1,
		noDuplicates: true,
	})
}

// TestExactlyOnceRedisConnReset is TestFaultRedisConnReset under
// exactly_once: pipelines cut after their commands, then after part of
// their replies.
func TestExactlyOnceRedisConnReset(t *testing.T) {
	needServices(t)
	px := startRedisProxy(t, svc.redisAddr)
	runRedisFault(t, redisFault{
		name: "eos_redis_conn_reset", rate: faultLoad,
		lead: 4 * time.Second, hold: sized(10*time.Second, 60*time.Second), tail: sized(4*time.Second, 10*time.Second),
		env:       exactlyOnce(nil),
		redisAddr: px.addr,
		inject: func(t *testing.T) {
			px.add(t, toxic{Name: "cut", Type: "limit_data", Stream: "upstream",
				Attributes: map[string]any{"bytes": 256 << 10}})
		},
		midway: func(t *testing.T) {
			px.remove(t, "cut")
			px.add(t, toxic{Name: "cut_replies", Type: "limit_data", Stream: "downstream",
				Attributes: map[string]any{"bytes": 24 << 10}})
		},
		heal:         func(t *testing.T) { px.remove(t, "cut_replies") },
		maxOpens:     -1,
		noDuplicates: true,
	})
}

// TestExactlyOnceRedisKilled is TestFaultRedisKilled under exactly_once: a
// private redis-server with every write fsynced is SIGKILLed and started
// again; the hash and the entries survive together.
func TestExactlyOnceRedisKilled(t *testing.T) {
	needServices(t)
	bin := needRedisServer(t)
	priv := startDurableRedis(t, bin)
	runRedisFault(t, redisFault{
		name: "eos_redis_killed", rate: faultLoad,
		lead: 4 * time.Second, hold: sized(8*time.Second, 30*time.Second), tail: sized(4*time.Second, 10*time.Second),
		env:       exactlyOnce(nil),
		redisAddr: priv.addr, rdbAddr: priv.addr, redisDown: true, redisGone: true,
		inject:       priv.kill,
		heal:         priv.startDurable,
		maxOpens:     -1,
		noDuplicates: true,
	})
}

// TestExactlyOnceGroupMembership is TestGroupMembership under exactly_once,
// with a member killed (SIGKILL) as well as one stopped and one joining:
// the killed member's uncommitted tail moves to the others, who skip what
// it wrote.
func TestExactlyOnceGroupMembership(t *testing.T) {
	needServices(t)
	const total = 60_000
	s := newScenario(t, "eos_membership", 6)
	env := s.env(exactlyOnce(map[string]string{"KRC_KAFKA_SESSION_TIMEOUT": killSessionTimeout.String()}))
	members := []*connectorProcess{startConnector(t, "a", env), startConnector(t, "b", env), startConnector(t, "c", env)}
	s.waitMembers(t, 3, time.Minute, members...)
	pr := newProducer(t, s.topic, s.partitions)
	l := startLoad(pr, total, 6_000)
	s.waitEntries(t, total/4, 2*time.Minute, members...)
	members[2].kill(t)
	members = members[:2]
	s.waitMembers(t, 2, time.Minute, members...)
	members[1].stop(t)
	members = members[:1]
	members = append(members, startConnector(t, "d", env))
	s.waitMembers(t, 2, time.Minute, members...)
	l.wait(t)
	s.awaitDelivery(t, 3*time.Minute, members...)
	for _, m := range members {
		m.stop(t)
	}
	s.requireCommittedAtEnd(t)
	s.verify(t, pr, verifyOpts{noDuplicates: true})
}

// TestExactlyOnceKafkaRestart is TestKafkaRestart under exactly_once.
func TestExactlyOnceKafkaRestart(t *testing.T) {
	needServiceControl(t)
	const total = 60_000
	s := newScenario(t, "eos_kafka_restart", 4)
	pr := newProducer(t, s.topic, s.partitions)
	l := startLoad(pr, total, 5_000)
	a := startConnector(t, "a", s.env(exactlyOnce(nil)))
	s.waitEntries(t, total/4, 2*time.Minute, a)
	restartService(t, "kafka", func() error { return dialable(svc.brokers[0]) })
	if err := a.diedUnexpectedly(); err != nil {
		t.Fatal(err)
	}
	l.wait(t)
	s.awaitDelivery(t, 4*time.Minute, a)
	a.stop(t)
	s.requireCommittedAtEnd(t)
	s.verify(t, pr, verifyOpts{noDuplicates: true})
}

// TestExactlyOnceCluster runs the SIGKILL scenario against a Redis Cluster
// (REDIS_CLUSTER_ADDRS: comma-separated seed nodes, 3 masters): each
// stream and its companion hash share a slot, so no script is refused
// CROSSSLOT, and the streams spread over the masters.
func TestExactlyOnceCluster(t *testing.T) {
	needServices(t)
	addrs := os.Getenv("REDIS_CLUSTER_ADDRS")
	if addrs == "" {
		t.Skip("REDIS_CLUSTER_ADDRS is not set: no Redis Cluster to run the exactly-once cluster scenario against")
	}
	cluster := redis.NewClusterClient(&redis.ClusterOptions{Addrs: splitList(addrs)})
	t.Cleanup(func() { _ = cluster.Close() })
	kills := sized(3, 10)
	total := sized(50_000, 500_000)
	s := newScenario(t, "eos_cluster_kills", 6)
	pr := newProducer(t, s.topic, s.partitions)
	env := s.env(exactlyOnce(map[string]string{"KRC_KAFKA_SESSION_TIMEOUT": killSessionTimeout.String(),
		"KRC_REDIS_MODE": "cluster", "KRC_REDIS_ADDRS": addrs}))
	l := startLoad(pr, total, sized(2_500, 5_000))
	var last *connectorProcess
	for i := 0; ; i++ {
		last = startConnector(t, fmt.Sprintf("run%02d", i), env)
		if i == kills {
			break
		}
		time.Sleep(2*time.Second + rand.N(2*time.Second))
		last.kill(t)
	}
	l.wait(t)
	s.awaitDelivery(t, 5*time.Minute, last)
	last.stop(t)
	s.requireCommittedAtEnd(t)

	ctx := context.Background()
	acked, failed, _ := pr.result()
	c := oracle.NewChecker()
	for _, r := range acked {
		c.Expect(r.partition, r.seq)
	}
	masters := map[string]bool{}
	for p := range s.partitions {
		key := s.streamKey(p)
		if err := sink.ReadStream(ctx, cluster, key, func(_ string, f map[string]any) error {
			if vp, seq, ok := parseValue(fmt.Sprint(f["value"])); ok {
				c.Observe(vp, seq)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		node, err := cluster.MasterForKey(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		masters[node.Options().Addr] = true
	}
	r := c.Report()
	logOracle(t, s.name, r)
	checkReport(t, r, failed, verifyOpts{noDuplicates: true})
	t.Logf("the %d streams are on %d masters", s.partitions, len(masters))
	t.Cleanup(func() {
		for p := range s.partitions {
			companion, _ := sink.CompanionKey(s.streamKey(p))
			_ = cluster.Del(ctx, s.streamKey(p)).Err()
			_ = cluster.Del(ctx, companion).Err()
		}
	})
}

// runCLI runs the connector binary with args and env (KRC_ variables only,
// as startConnector does) and returns its combined output and exit code.
func runCLI(t *testing.T, env map[string]string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(connectorBin, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KRC_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %v: %v", args, err)
	}
	t.Logf("kafka-redis-connector %s: exit %d\n%s", strings.Join(args, " "), code, out)
	return string(out), code
}

// TestExactlyOnceOffsetsCommand: offsets shows what Redis holds per stream;
// offsets reset refuses while a member is in the group; after one stream
// was deleted with its hash left behind and another lost with its hash, a
// reset to the earliest offsets rebuilds both streams, each record once.
func TestExactlyOnceOffsetsCommand(t *testing.T) {
	needServices(t)
	const total = 4_000
	s := newScenario(t, "eos_offsets", 2)
	pr := newProducer(t, s.topic, s.partitions)
	env := s.env(exactlyOnce(nil))
	a := startConnector(t, "a", env)
	l := startLoad(pr, total, 4_000)
	l.wait(t)
	s.waitCaughtUp(t, 2*time.Minute, a)

	out, code := runCLI(t, env, "offsets")
	if code != 0 {
		t.Fatalf("offsets: got exit %d, want 0", code)
	}
	_, end, err := s.committedAndEnd(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for p := range s.partitions {
		want := regexp.MustCompile(fmt.Sprintf(`(?m)^%s\s+%s\s+%d\s+%d$`, regexp.QuoteMeta(s.streamKey(p)), s.topic, p, end[p]-1))
		if !want.MatchString(out) {
			t.Errorf("offsets: no line %q in the output", want)
		}
	}
	if out, code := runCLI(t, env, "offsets", "reset", "--to-earliest", "--yes"); code != 1 || !strings.Contains(out, "members") {
		t.Errorf("offsets reset with a member in the group: got exit %d, want 1 and a refusal naming the members", code)
	}
	a.stop(t)

	// Partition 0's stream is deleted by a user, its hash left behind;
	// partition 1's stream and hash are both gone (Redis lost them).
	ctx := context.Background()
	companion1, err := sink.CompanionKey(s.streamKey(1))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.rdb.Del(ctx, s.streamKey(0), s.streamKey(1), companion1).Err(); err != nil {
		t.Fatal(err)
	}
	if _, code := runCLI(t, env, "offsets", "reset", "--to-earliest"); code != 2 {
		t.Errorf("offsets reset without --yes: got exit %d, want 2", code)
	}
	if out, code := runCLI(t, env, "offsets", "reset", "--to-earliest", "--yes"); code != 0 || !strings.Contains(out, " 1 offsets stored in Redis changed") {
		t.Fatalf("offsets reset: got exit %d, want 0 and the left-behind hash's field reset", code)
	}
	b := startConnector(t, "b", env)
	s.waitEntries(t, total, 2*time.Minute, b)
	s.waitCaughtUp(t, 2*time.Minute, b)
	b.stop(t)
	s.verify(t, pr, verifyOpts{noDuplicates: true})
}

// TestExactlyOnceRedisRestart is TestRedisRestart under exactly_once: the
// shared redis-server stops (SHUTDOWN SAVE) and starts again mid-run.
func TestExactlyOnceRedisRestart(t *testing.T) {
	needServiceControl(t)
	const total = 60_000
	s := newScenario(t, "eos_redis_restart", 4)
	pr := newProducer(t, s.topic, s.partitions)
	l := startLoad(pr, total, 5_000)
	a := startConnector(t, "a", s.env(exactlyOnce(nil)))
	s.waitEntries(t, total/4, 2*time.Minute, a)
	restartService(t, "redis", func() error { return s.rdb.Ping(context.Background()).Err() })
	s.checkCommittedHeld(t)
	l.wait(t)
	s.awaitDelivery(t, 4*time.Minute, a)
	a.stop(t)
	s.requireCommittedAtEnd(t)
	s.verify(t, pr, verifyOpts{noDuplicates: true})
}

// TestExactlyOnceRedisLosesData: a private redis-server without persistence
// is SIGKILLed and started again empty, so the companion hashes go with the
// entries. What the group committed before is gone for good (Redis lost
// it); everything else arrives once, in order: the uncommitted tail is
// written again because no hash says it is there.
func TestExactlyOnceRedisLosesData(t *testing.T) {
	needServices(t)
	bin := needRedisServer(t)
	priv := startPrivateRedis(t, bin)
	const total = 30_000
	s := newScenario(t, "eos_redis_loses_data", 4)
	s.rdb = newRedis(t, priv.addr)
	pr := newProducer(t, s.topic, s.partitions)
	env := s.env(exactlyOnce(nil))
	env["KRC_REDIS_ADDRS"] = priv.addr
	a := startConnector(t, "a", env)
	l := startLoad(pr, total, 3_000)
	s.waitEntries(t, total/4, 2*time.Minute, a)
	priv.kill(t)
	time.Sleep(3 * time.Second)
	ctx := context.Background()
	committed, _, err := s.committedAndEnd(ctx)
	if err != nil {
		t.Fatal(err)
	}
	priv.start(t)
	l.wait(t)
	s.awaitDelivery(t, 4*time.Minute, a)
	a.stop(t)

	acked, _, _ := pr.result()
	c := oracle.NewChecker()
	for _, r := range acked {
		c.Expect(r.partition, r.seq)
	}
	var gone int64
	for p := range s.partitions {
		gone += committed[p]
		if err := sink.ReadStream(ctx, s.rdb, s.streamKey(p), func(_ string, f map[string]any) error {
			if vp, seq, ok := parseValue(fmt.Sprint(f["value"])); ok {
				c.Observe(vp, seq)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	r := c.Report()
	logOracle(t, s.name, r)
	if r.Duplicated != 0 || r.OutOfOrder != 0 || r.Unexpected != 0 {
		t.Errorf("oracle: got %s, want duplicated=0 out_of_order=0 unexpected=0", r)
	}
	if int64(r.Lost) > gone {
		t.Errorf("oracle: got lost=%d, want at most the %d records committed before Redis lost its data", r.Lost, gone)
	}
}
