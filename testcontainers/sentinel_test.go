//go:build integration

package testcontainers

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestSentinelFailover (issue 10, item 4): the connector in sentinel mode
// against scripts/services.sh's master, replica and three redis-sentinel
// (REDIS_SENTINEL_ADDRS, REDIS_SENTINEL_MASTER); SENTINEL FAILOVER under
// 3,000 records/s. After +switch-master every write must go to the new
// master: what the old master acknowledged after the switch is flushed when
// it resyncs as a replica, so a connector still writing there commits
// records that are then gone (lost). The streams are read back from the
// current master once the old one replicates from it.
//
// Even a client that follows +switch-master at once writes to the old
// master between the replica's promotion and the sentinels' announcement
// (about a second): the old master acknowledges those writes, and its
// replica, now the master, never gets them. Only the servers can refuse
// them: with min-replicas-to-write 1 the old master answers NOREPLICAS (a
// retryable reply) as soon as its replica leaves it. The test sets it on both
// servers; KRCDEV_IT_SENTINEL_MIN_REPLICAS=0 runs without it, to measure that
// window (docs/RELIABILITY.md).
func TestSentinelFailover(t *testing.T) {
	sentinels := splitList(needEndpoint(t, "REDIS_SENTINEL_ADDRS"))
	master := needEndpoint(t, "REDIS_SENTINEL_MASTER")
	needServiceControl(t)
	const rate, total = 3_000, 75_000
	s := newScenario(t, "sentinel_failover", 4)
	fc := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: master, SentinelAddrs: sentinels})
	t.Cleanup(func() {
		if !t.Failed() {
			_ = fc.Del(context.Background(), s.streamKeys()...).Err()
		}
		_ = fc.Close()
	})
	s.rdb = fc
	minReplicas := 1
	if os.Getenv("KRCDEV_IT_SENTINEL_MIN_REPLICAS") == "0" {
		minReplicas = 0
	}
	setMinReplicasToWrite(t, sentinels[0], master, minReplicas)
	pr := newProducer(t, s.topic, s.partitions)
	c := startConnector(t, "a", s.env(map[string]string{
		"KRC_REDIS_MODE":        "sentinel",
		"KRC_REDIS_ADDRS":       strings.Join(sentinels, ","),
		"KRC_REDIS_MASTER_NAME": master,
	}))
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
	t.Logf("failover from %s to %s done: %s", before, after, s.progress(t))
	if err := c.diedUnexpectedly(); err != nil {
		t.Fatal(err)
	}

	l.wait(t)
	s.awaitDelivery(t, 3*time.Minute, c)
	c.stop(t)
	// The old master replicates from the new one by now (sentinel-failover
	// waits for it): what it alone held is gone, and the oracle counts it lost.
	s.requireCommittedAtEnd(t)
	s.verify(t, pr, verifyOpts{})
	t.Logf("sentinel_failover: %d breaker opens in the connector's log", breakerOpens(t, c.logPath))
	s.checkCommittedHeld(t)
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
