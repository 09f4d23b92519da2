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
// out_of_order = 0. The scenarios that have no at_least_once test of their
// own (connector kills on a Cluster, a Redis without persistence, a member
// killed amid joins and leaves, the offsets reset) run under both
// guarantees from one body (inBothGuarantees): the at_least_once run keeps
// the lost and order rules and logs its duplicates, for the comparison.
// Their oracle lines sit side by side in docs/RELIABILITY.md.

// guarantee is a delivery.guarantee value a scenario runs under.
type guarantee string

const (
	guaranteeALO guarantee = "at_least_once"
	guaranteeEOS guarantee = "exactly_once"
)

// env adds the guarantee to a connector environment; env is not modified.
func (g guarantee) env(env map[string]string) map[string]string {
	out := map[string]string{"KRC_DELIVERY_GUARANTEE": string(g)}
	for k, v := range env {
		out[k] = v
	}
	return out
}

// name is a scenario's name under g: exactly_once runs carry an "eos_"
// prefix, so their oracle lines, topics and groups stand apart.
func (g guarantee) name(base string) string {
	if g == guaranteeEOS {
		return "eos_" + base
	}
	return base
}

// verifyOpts is the oracle rule under g: exactly_once also requires
// duplicated = 0; at_least_once reports the duplicates.
func (g guarantee) verifyOpts() verifyOpts { return verifyOpts{noDuplicates: g == guaranteeEOS} }

// exactlyOnce adds delivery.guarantee exactly_once to a connector environment.
func exactlyOnce(env map[string]string) map[string]string { return guaranteeEOS.env(env) }

// inBothGuarantees runs scenario as the subtests at_least_once and
// exactly_once.
func inBothGuarantees(t *testing.T, scenario func(t *testing.T, g guarantee)) {
	for _, g := range []guarantee{guaranteeALO, guaranteeEOS} {
		t.Run(string(g), func(t *testing.T) { scenario(t, g) })
	}
}

// TestExactlyOnceConnectorKills is TestFaultConnectorKills under
// exactly_once: 10 SIGKILLs (short: 3) during 500,000 records (short:
// 50,000). Each restart re-reads the uncommitted tail, which the script
// skips.
func TestExactlyOnceConnectorKills(t *testing.T) {
	runConnectorKills(t, guaranteeEOS)
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

// TestExactlyOnceGroupMembership is TestGroupMembership with a member
// killed (SIGKILL) as well as one stopped and one joining, under both
// guarantees: the killed member's uncommitted tail moves to the others,
// who under exactly_once skip what it wrote and under at_least_once write
// it again (its duplicates are logged).
func TestExactlyOnceGroupMembership(t *testing.T) {
	inBothGuarantees(t, runMembershipKill)
}

func runMembershipKill(t *testing.T, g guarantee) {
	needServices(t)
	const total = 60_000
	s := newScenario(t, g.name("membership"), 6)
	env := s.env(g.env(map[string]string{"KRC_KAFKA_SESSION_TIMEOUT": killSessionTimeout.String()}))
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
	s.verify(t, pr, g.verifyOpts())
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
// (REDIS_CLUSTER_ADDRS: comma-separated seed nodes, 3 masters), under both
// guarantees: each stream and its companion hash share a slot, so no
// script is refused CROSSSLOT, and the streams spread over the masters.
func TestExactlyOnceCluster(t *testing.T) {
	inBothGuarantees(t, runClusterKills)
}

func runClusterKills(t *testing.T, g guarantee) {
	addrs := needEndpoint(t, "REDIS_CLUSTER_ADDRS")
	cluster := redis.NewClusterClient(&redis.ClusterOptions{Addrs: splitList(addrs)})
	t.Cleanup(func() { _ = cluster.Close() })
	kills := sized(3, 10)
	total := sized(50_000, 500_000)
	s := newScenario(t, g.name("cluster_kills"), 6)
	s.rdb = cluster // the streams are read back through the cluster (deleted below key by key)
	pr := newProducer(t, s.topic, s.partitions)
	env := s.env(g.env(map[string]string{"KRC_KAFKA_SESSION_TIMEOUT": killSessionTimeout.String(),
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
	s.verify(t, pr, g.verifyOpts())

	ctx := context.Background()
	masters := map[string]bool{}
	for p := range s.partitions {
		node, err := cluster.MasterForKey(ctx, s.streamKey(p))
		if err != nil {
			t.Fatal(err)
		}
		masters[node.Options().Addr] = true
	}
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

// TestExactlyOnceOffsetsCommand: offsets shows the group's committed and
// end offsets and, under exactly_once, what Redis holds per stream; offsets
// reset refuses while a member is in the group; after Redis lost two
// streams, a reset to the earliest offsets rebuilds both, each record once.
// Under exactly_once one stream was deleted with its hash left behind (the
// reset must lower it, or its records would be skipped) and the other lost
// with its hash; under at_least_once there are no hashes, and the reset
// only moves the group: the same rebuild, without the hashes to keep in
// step.
func TestExactlyOnceOffsetsCommand(t *testing.T) {
	inBothGuarantees(t, runOffsetsRebuild)
}

func runOffsetsRebuild(t *testing.T, g guarantee) {
	needServices(t)
	const total = 4_000
	s := newScenario(t, g.name("offsets"), 2)
	pr := newProducer(t, s.topic, s.partitions)
	env := s.env(g.env(nil))
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
		want := regexp.MustCompile(fmt.Sprintf(`(?m)^%s\s+%d\s+%d\s+%d\s+0$`, regexp.QuoteMeta(s.topic), p, end[p], end[p]))
		if !want.MatchString(out) {
			t.Errorf("offsets: no line %q (committed = end, lag 0) in the output", want)
		}
	}
	if g == guaranteeEOS {
		for p := range s.partitions {
			want := regexp.MustCompile(fmt.Sprintf(`(?m)^%s\s+%s\s+%d\s+%d$`, regexp.QuoteMeta(s.streamKey(p)), s.topic, p, end[p]-1))
			if !want.MatchString(out) {
				t.Errorf("offsets: no line %q in the output", want)
			}
		}
	} else if want := "delivery.guarantee at_least_once; offsets stored in Redis (last record written, per stream):\n  none\n"; !strings.Contains(out, want) {
		t.Errorf("offsets: got\n%s\nwant it to end with %q: no hash under at_least_once", out, want)
	}
	if out, code := runCLI(t, env, "offsets", "reset", "--to-earliest", "--yes"); code != 1 || !strings.Contains(out, "members") {
		t.Errorf("offsets reset with a member in the group: got exit %d, want 1 and a refusal naming the members", code)
	}
	a.stop(t)

	// Partition 0's stream is deleted by a user (under exactly_once its
	// hash is left behind); partition 1's stream and hash are both gone
	// (Redis lost them).
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
	changed := map[guarantee]string{guaranteeEOS: " 1 offsets stored in Redis changed", guaranteeALO: " 0 offsets stored in Redis changed"}[g]
	if out, code := runCLI(t, env, "offsets", "reset", "--to-earliest", "--yes"); code != 0 || !strings.Contains(out, changed) {
		t.Fatalf("offsets reset: got exit %d, want 0 and %q", code, strings.TrimSpace(changed))
	}
	b := startConnector(t, "b", env)
	s.waitEntries(t, total, 2*time.Minute, b)
	s.waitCaughtUp(t, 2*time.Minute, b)
	b.stop(t)
	// No member crashed: each record once under either guarantee.
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
// is SIGKILLed and started again empty, so under exactly_once the companion
// hashes go with the entries. What the group committed before is gone for
// good (Redis lost it); everything else arrives once, in order: the
// uncommitted tail is written again because no hash says it is there. The
// at_least_once run has the same bound on what is lost and the same order
// rule, and logs its duplicates.
func TestExactlyOnceRedisLosesData(t *testing.T) {
	inBothGuarantees(t, runRedisLosesData)
}

func runRedisLosesData(t *testing.T, g guarantee) {
	needServices(t)
	bin := needRedisServer(t)
	priv := startPrivateRedis(t, bin)
	const total = 30_000
	s := newScenario(t, g.name("redis_loses_data"), 4)
	s.rdb = newRedis(t, priv.addr)
	pr := newProducer(t, s.topic, s.partitions)
	env := s.env(g.env(nil))
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
	t.Logf("%d records were committed when Redis lost its data: lost may reach that", gone)
	if r.OutOfOrder != 0 || r.Unexpected != 0 {
		t.Errorf("oracle: got %s, want out_of_order=0 unexpected=0", r)
	}
	if g == guaranteeEOS && r.Duplicated != 0 {
		t.Errorf("oracle: got duplicated=%d, want 0 under exactly_once", r.Duplicated)
	}
	if int64(r.Lost) > gone {
		t.Errorf("oracle: got lost=%d, want at most the %d records committed before Redis lost its data", r.Lost, gone)
	}
}
