//go:build integration

package testcontainers

import (
	"context"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kafka-redis-connector/kafka-redis-connector/oracle"
	"github.com/kafka-redis-connector/kafka-redis-connector/sink"
)

// TestSentinelFailover (issue 10, item 4): the connector in sentinel mode
// against scripts/services.sh's master, replica and three redis-sentinel
// (REDIS_SENTINEL_ADDRS, REDIS_SENTINEL_MASTER); SENTINEL FAILOVER under
// 3,000 records/s. After +switch-master every write must go to the new
// master: what the old master acknowledged is flushed when it resyncs as a
// replica, so a connector still writing there commits records that are then
// gone. The streams are read back from the current master once the old one
// replicates from it (scripts/services.sh sentinel-failover waits for that).
//
// Even a client that follows +switch-master at once writes to the old master
// between the replica's promotion and the sentinels' announcement (about a
// second): the old master acknowledges those writes and its former replica
// never gets them. Only the servers can refuse them (min-replicas-to-write)
// or the writer can wait for the replica (WAIT, the future
// redis.wait_replicas). Hence two cases:
//   - min_replicas_to_write_1: both servers refuse writes without a replica
//     (NOREPLICAS, retryable) as soon as the replica leaves the old master:
//     lost must be 0;
//   - wait_replicas_1: the servers' defaults, and the connector waits for
//     one replica (redis.wait_replicas 1, WAIT after each write): a write
//     the old master took after its replica left is a shortfall, retried
//     against the new master, so lost must be 0 (duplicates are expected);
//   - no_min_replicas: the servers' defaults; records are lost, but only
//     records written before +switch-master: each lost record must have been
//     produced before it (plus a second of slack), i.e. the connector
//     followed the switch. The loss is the window docs/RELIABILITY.md reports.
func TestSentinelFailover(t *testing.T) {
	t.Run("min_replicas_to_write_1", func(t *testing.T) {
		r := runSentinelFailover(t, "sentinel_failover", 1, nil)
		r.s.verify(t, r.pr, verifyOpts{})
		r.s.checkCommittedHeld(t)
	})
	t.Run("wait_replicas_1", func(t *testing.T) {
		r := runSentinelFailover(t, "sentinel_failover_wait", 0, map[string]string{
			"KRC_REDIS_WAIT_REPLICAS": "1", "KRC_REDIS_WAIT_TIMEOUT": "500ms"})
		r.s.verify(t, r.pr, verifyOpts{})
		r.s.checkCommittedHeld(t)
	})
	t.Run("no_min_replicas", func(t *testing.T) {
		r := runSentinelFailover(t, "sentinel_failover_async", 0, nil)
		rep, lastLost := r.lost(t)
		if rep.OutOfOrder != 0 {
			t.Errorf("oracle: got out_of_order=%d, want 0", rep.OutOfOrder)
		}
		if rep.Lost == 0 {
			return
		}
		after := lastLost.Sub(r.switchAt)
		t.Logf("%d records lost, the last produced %s after the last sentinel's +switch-master (%s)",
			rep.Lost, after.Round(time.Millisecond), r.switchAt.Format("15:04:05.000"))
		if after > time.Second {
			t.Errorf("a record produced %s after +switch-master was lost: the connector kept writing to the demoted master",
				after.Round(time.Millisecond))
		}
	})
}

// sentinelRun is what one failover under load left behind.
type sentinelRun struct {
	s         *scenario
	pr        *producer
	loadStart time.Time
	rate      int
	switchAt  time.Time // when the last sentinel published +switch-master
}

func runSentinelFailover(t *testing.T, name string, minReplicas int, extra map[string]string) *sentinelRun {
	t.Helper()
	sentinels := splitList(needEndpoint(t, "REDIS_SENTINEL_ADDRS"))
	master := needEndpoint(t, "REDIS_SENTINEL_MASTER")
	needServiceControl(t)
	const rate, total = 3_000, 75_000
	s := newScenario(t, name, 4)
	fc := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: master, SentinelAddrs: sentinels})
	t.Cleanup(func() {
		if !t.Failed() {
			_ = fc.Del(context.Background(), s.streamKeys()...).Err()
		}
		_ = fc.Close()
	})
	s.rdb = fc
	setMinReplicasToWrite(t, sentinels[0], master, minReplicas)
	// Each sentinel announces the switch when it learns it (the others up to
	// a hello period after the leader); a client follows the one it listens
	// to, so the last announcement bounds when any client may still write
	// to the old master.
	switched := make([]<-chan time.Time, len(sentinels))
	for i, addr := range sentinels {
		switched[i] = watchSwitchMaster(t, addr)
	}
	pr := newProducer(t, s.topic, s.partitions)
	env := map[string]string{
		"KRC_REDIS_MODE":        "sentinel",
		"KRC_REDIS_ADDRS":       strings.Join(sentinels, ","),
		"KRC_REDIS_MASTER_NAME": master,
	}
	maps.Copy(env, extra)
	c := startConnector(t, "a", s.env(env))
	loadStart := time.Now()
	l := startLoad(pr, total, rate)
	s.waitEntries(t, total/5, 2*time.Minute, c)

	before := sentinelMaster(t, sentinels[0], master)
	if err := servicesScript(t, "sentinel-failover"); err != nil {
		t.Fatal(err)
	}
	after := sentinelMaster(t, sentinels[0], master)
	if after == before {
		t.Fatalf("after sentinel-failover the master is still %s", before)
	}
	var switchAt time.Time
	for i, ch := range switched {
		select {
		case at := <-ch:
			if at.After(switchAt) {
				switchAt = at
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no +switch-master message from the sentinel at %s", sentinels[i])
		}
	}
	t.Logf("failover from %s to %s, +switch-master at %s: %s", before, after, switchAt.Format("15:04:05.000"), s.progress(t))
	if err := c.diedUnexpectedly(); err != nil {
		t.Fatal(err)
	}

	l.wait(t)
	s.awaitDelivery(t, 3*time.Minute, c)
	c.stop(t)
	s.requireCommittedAtEnd(t)
	t.Logf("%s: %d breaker opens in the connector's log", name, breakerOpens(t, c.logPath))
	return &sentinelRun{s: s, pr: pr, loadStart: loadStart, rate: rate, switchAt: switchAt}
}

// watchSwitchMaster subscribes to +switch-master on the sentinel at addr and
// delivers the time of the first message.
func watchSwitchMaster(t *testing.T, addr string) <-chan time.Time {
	t.Helper()
	sc := redis.NewSentinelClient(&redis.Options{Addr: addr})
	ps := sc.Subscribe(context.Background(), "+switch-master")
	if _, err := ps.Receive(context.Background()); err != nil { // the subscription's confirmation
		t.Fatalf("SUBSCRIBE +switch-master on %s: %v", addr, err)
	}
	at := make(chan time.Time, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, ok := <-ps.Channel(); ok {
			at <- time.Now()
		}
	}()
	t.Cleanup(func() {
		_ = ps.Close()
		<-done
		_ = sc.Close()
	})
	return at
}

// lost reads the streams back with the oracle (logging its line) and returns
// its report and when the last lost record was produced: the load is paced,
// so record seq of a partition went out about 4*seq/rate after it started.
func (r *sentinelRun) lost(t *testing.T) (oracle.Report, time.Time) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	acked, _, _ := r.pr.result()
	c := oracle.NewChecker()
	seen := make(map[produced]bool)
	for _, rec := range acked {
		c.Expect(rec.partition, rec.seq)
	}
	for p := range r.s.partitions {
		err := sink.ReadStream(ctx, r.s.rdb, r.s.streamKey(p), func(_ string, f map[string]any) error {
			if vp, seq, ok := parseValue(fmt.Sprint(f["value"])); ok {
				c.Observe(vp, seq)
				seen[produced{vp, seq}] = true
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	rep := c.Report()
	logOracle(t, r.s.name, rep)
	var last int64 = -1
	for _, rec := range acked {
		if !seen[rec] && rec.seq > last {
			last = rec.seq
		}
	}
	if last < 0 {
		return rep, time.Time{}
	}
	per := time.Second / time.Duration(r.rate)
	return rep, r.loadStart.Add(time.Duration(last*int64(r.s.partitions)) * per)
}

// setMinReplicasToWrite sets min-replicas-to-write on the master and its
// replicas (it applies to whichever is master), back to 0 at the end.
func setMinReplicasToWrite(t *testing.T, sentinel, master string, n int) {
	t.Helper()
	sc := redis.NewSentinelClient(&redis.Options{Addr: sentinel})
	defer sc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	addrs := []string{sentinelMaster(t, sentinel, master)}
	replicas, err := sc.Replicas(ctx, master).Result()
	if err != nil {
		t.Fatalf("SENTINEL REPLICAS %s: %v", master, err)
	}
	for _, r := range replicas {
		addrs = append(addrs, r["ip"]+":"+r["port"])
	}
	set := func(n int) error {
		for _, addr := range addrs {
			rdb := redis.NewClient(&redis.Options{Addr: addr})
			err := rdb.ConfigSet(context.Background(), "min-replicas-to-write", strconv.Itoa(n)).Err()
			_ = rdb.Close()
			if err != nil {
				return fmt.Errorf("CONFIG SET min-replicas-to-write %d on %s: %w", n, addr, err)
			}
		}
		return nil
	}
	if err := set(n); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := set(0); err != nil {
			t.Error(err)
		}
	})
	t.Logf("min-replicas-to-write %d on %v", n, addrs)
}

// sentinelMaster asks the sentinel at addr for the address of master.
func sentinelMaster(t *testing.T, addr, master string) string {
	t.Helper()
	sc := redis.NewSentinelClient(&redis.Options{Addr: addr})
	defer sc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	hp, err := sc.GetMasterAddrByName(ctx, master).Result()
	if err != nil || len(hp) != 2 {
		t.Fatalf("SENTINEL GET-MASTER-ADDR-BY-NAME %s on %s: %v %v", master, addr, hp, err)
	}
	return hp[0] + ":" + hp[1]
}
