//go:build integration

package testcontainers

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// The Redis Cluster scenarios (issue 10, "Prove it on real services"): the
// connector in cluster mode against the three masters scripts/services.sh
// starts (REDIS_CLUSTER_ADDRS), under a steady load, while the cluster
// changes under it. Every record must arrive in Kafka order; duplicates are
// reported, not failed: a connection cut leaves the fate of the XADDs sent
// on it unknown, and the connector sends them again.

const (
	clusterRate  = 3_000 // records per second
	clusterTotal = 45_000
	// reshardTotal keeps the load on through both moves (about 4 s each).
	reshardTotal = 60_000
)

// clusterScenario is a scenario whose streams live in the Redis Cluster.
type clusterScenario struct {
	*scenario
	addrs []string
	cc    *redis.ClusterClient
}

func newClusterScenario(t *testing.T, name string) *clusterScenario {
	t.Helper()
	addrs := splitList(needEndpoint(t, "REDIS_CLUSTER_ADDRS"))
	needServiceControl(t)
	if len(addrs) != 3 {
		t.Fatalf("REDIS_CLUSTER_ADDRS: got %d addresses, want the 3 masters of scripts/services.sh", len(addrs))
	}
	s := newScenario(t, name, 4)
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	t.Cleanup(func() {
		if !t.Failed() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			for _, key := range s.streamKeys() { // one slot each: no multi-key DEL
				_ = cc.Del(ctx, key).Err()
			}
		}
		_ = cc.Close()
	})
	s.rdb = cc
	return &clusterScenario{scenario: s, addrs: addrs, cc: cc}
}

func (cs *clusterScenario) env() map[string]string {
	return cs.scenario.env(map[string]string{
		"KRC_REDIS_MODE":  "cluster",
		"KRC_REDIS_ADDRS": strings.Join(cs.addrs, ","),
	})
}

// nodeSlots is what one master of the cluster serves.
type nodeSlots struct {
	count, lowest int
}

// layout returns, per master number (1-3, the order of REDIS_CLUSTER_ADDRS,
// as scripts/services.sh counts them), the slots it serves.
func (cs *clusterScenario) layout(t *testing.T) map[int]nodeSlots {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ranges, err := cs.cc.ClusterSlots(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]nodeSlots{}
	for _, r := range ranges {
		n := cs.number(t, r.Nodes[0].Addr)
		ns, seen := out[n]
		if !seen || int(r.Start) < ns.lowest {
			ns.lowest = int(r.Start)
		}
		ns.count += int(r.End - r.Start + 1)
		out[n] = ns
	}
	return out
}

func (cs *clusterScenario) number(t *testing.T, addr string) int {
	t.Helper()
	for i, a := range cs.addrs {
		if a == addr {
			return i + 1
		}
	}
	t.Fatalf("cluster node %s is none of %v", addr, cs.addrs)
	return 0
}

// owner returns the number of the master serving key.
func (cs *clusterScenario) owner(t *testing.T, key string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	slot, err := cs.cc.ClusterKeySlot(ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	ranges, err := cs.cc.ClusterSlots(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range ranges {
		if int64(r.Start) <= slot && slot <= int64(r.End) {
			return cs.number(t, r.Nodes[0].Addr)
		}
	}
	t.Fatalf("slot %d of %s is served by no node", slot, key)
	return 0
}

// finish waits for the load to be committed, stops the connector and checks
// the streams with the oracle (duplicates reported).
func (cs *clusterScenario) finish(t *testing.T, pr *producer, l *load, c *connectorProcess) {
	t.Helper()
	l.wait(t)
	cs.awaitDelivery(t, 3*time.Minute, c)
	c.stop(t)
	cs.requireCommittedAtEnd(t)
	cs.verify(t, pr, verifyOpts{})
	t.Logf("%s: %d breaker opens in the connector's log", cs.name, breakerOpens(t, c.logPath))
}

// TestClusterReshard: redis-cli --cluster reshard moves every slot of the
// master holding one of the streams to another master and back, keys
// included, while records stream in. The connector follows MOVED and ASK
// (nothing lost, nothing reordered).
func TestClusterReshard(t *testing.T) {
	cs := newClusterScenario(t, "cluster_reshard")
	pr := newProducer(t, cs.topic, cs.partitions)
	c := startConnector(t, "a", cs.env())
	l := startLoad(pr, reshardTotal, clusterRate)
	cs.waitEntries(t, reshardTotal/8, 2*time.Minute, c)

	key, from, to := cs.reshardPlan(t)
	slots := cs.layout(t)[from].count
	for i, move := range [][2]int{{from, to}, {to, from}} {
		if err := servicesScript(t, "cluster-reshard", strconv.Itoa(move[0]), strconv.Itoa(move[1]), strconv.Itoa(slots)); err != nil {
			t.Fatal(err)
		}
		if n := cs.owner(t, key); n != move[1] {
			t.Fatalf("move %d, %d slots from node %d to %d: %s is on node %d, want %d", i+1, slots, move[0], move[1], key, n, move[1])
		}
		t.Logf("%d slots moved from node %d to node %d, %s with them: %s", slots, move[0], move[1], key, cs.progress(t))
	}
	if err := c.diedUnexpectedly(); err != nil {
		t.Fatal(err)
	}
	cs.finish(t, pr, l, c)
}

// reshardPlan picks a stream and two masters for TestClusterReshard:
// redis-cli --cluster reshard takes a source's lowest slots first, so moving
// all of from's slots to a master whose slots are all higher, and then as
// many back, returns exactly from's slots, the stream's with them.
func (cs *clusterScenario) reshardPlan(t *testing.T) (key string, from, to int) {
	t.Helper()
	lay := cs.layout(t)
	above := func(n int) int { // the master whose lowest slot comes next after n's
		next, best := 0, 1<<30
		for m, ns := range lay {
			if m != n && ns.count > 0 && ns.lowest > lay[n].lowest && ns.lowest < best {
				next, best = m, ns.lowest
			}
		}
		return next
	}
	for _, k := range cs.streamKeys() {
		if n := cs.owner(t, k); above(n) != 0 {
			return k, n, above(n)
		}
	}
	t.Skipf("every stream of this run is on the master with the highest slots (%v): no plan moves one and back", lay)
	return "", 0, 0
}

// TestClusterMasterKilled: the master holding partition 0's stream is
// killed (SIGKILL) under load and started again after 3 s; its AOF keeps
// what it acknowledged. The connector retries through the outage.
func TestClusterMasterKilled(t *testing.T) {
	cs := newClusterScenario(t, "cluster_master_killed")
	pr := newProducer(t, cs.topic, cs.partitions)
	c := startConnector(t, "a", cs.env())
	l := startLoad(pr, clusterTotal, clusterRate)
	cs.waitEntries(t, clusterTotal/5, 2*time.Minute, c)

	node := cs.owner(t, cs.streamKey(0))
	n := strconv.Itoa(node)
	down := true
	t.Cleanup(func() {
		if down {
			_ = servicesScript(t, "cluster-start", n)
		}
	})
	if err := servicesScript(t, "cluster-kill-master", n); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	if err := servicesScript(t, "cluster-start", n); err != nil {
		t.Fatal(err)
	}
	down = false
	t.Logf("master %d killed and restarted: %s", node, cs.progress(t))
	cs.checkCommittedHeld(t)
	if err := c.diedUnexpectedly(); err != nil {
		t.Fatal(err)
	}
	cs.finish(t, pr, l, c)
}
