//go:build integration

package testcontainers

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// assignedLine is what a member logs once per group generation it joins:
// franz-go calls OnPartitionsAssigned after every join and sync, also when
// nothing new is assigned, so these lines count the member's rebalances.
const assignedLine = `msg="partitions assigned"`

// TestStaticMembershipRestart restarts one of two members (SIGTERM, then a
// new process) while records flow, and counts the rebalances the other
// member takes part in. With kafka.instance_id the restarted member rejoins
// within session_timeout under the same id and gets its partitions back:
// after a follower's restart the other member sees no rebalance. A
// restarted leader (the first member) is told to keep the old plan
// (KIP-814); franz-go balances anyway and rejoins when its plan encodes
// differently, which costs at most one rebalance in which no partition
// moves. Without instance ids (the control, which shows the signal works)
// the stop and the start rebalance the group. Nothing is lost and, with no
// crash, nothing is duplicated.
func TestStaticMembershipRestart(t *testing.T) {
	tests := []struct {
		name           string
		static         bool
		restartLeader  bool
		minRebalances  int
		maxRebalances  int // -1: no bound
		requireNoMoves bool
	}{
		{name: "static_follower", static: true, maxRebalances: 0, requireNoMoves: true},
		{name: "static_leader", static: true, restartLeader: true, maxRebalances: 1, requireNoMoves: true},
		{name: "dynamic_follower_control", minRebalances: 1, maxRebalances: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const total = 60_000
			s := newScenario(t, "static-"+tt.name, 6)
			// The session timeout must cover the restart: the coordinator
			// keeps a static member's partitions that long.
			envOf := func(id string) map[string]string {
				extra := map[string]string{"KRC_KAFKA_SESSION_TIMEOUT": "30s"}
				if tt.static {
					extra["KRC_KAFKA_INSTANCE_ID"] = id
				}
				return s.env(extra)
			}
			// The first member to join leads the group.
			leader := startConnector(t, "leader", envOf("krc-leader"))
			s.waitMembers(t, 1, time.Minute, leader)
			follower := startConnector(t, "follower", envOf("krc-follower"))
			s.waitMembers(t, 2, time.Minute, leader, follower)

			restarted, other, name := follower, leader, "follower"
			if tt.restartLeader {
				restarted, other, name = leader, follower, "leader"
			}
			pr := newProducer(t, s.topic, s.partitions)
			l := startLoad(pr, total, 4_000)
			s.waitEntries(t, total/5, 2*time.Minute, leader, follower)

			assignedBefore := logCount(other.logPath, assignedLine)
			movedBefore := partitionsMoved(other.logPath)
			restarted.stop(t)
			again := startConnector(t, name+"-restarted", envOf("krc-"+name))
			waitFor(t, time.Minute, "the restarted member's assignment", []*connectorProcess{other, again},
				func(context.Context) (bool, string) {
					n := logCount(again.logPath, assignedLine)
					return n > 0, fmt.Sprintf("%d assignments logged by %s-restarted", n, name)
				})
			s.waitMembers(t, 2, time.Minute, other, again)

			l.wait(t)
			s.awaitDelivery(t, 3*time.Minute, other, again)
			rebalances := logCount(other.logPath, assignedLine) - assignedBefore
			moved := partitionsMoved(other.logPath) - movedBefore
			other.stop(t)
			again.stop(t)
			s.requireCommittedAtEnd(t)
			s.verify(t, pr, verifyOpts{noDuplicates: true})

			line := fmt.Sprintf("static membership %s: the other member saw %d rebalances and %d revocations or losses of partitions during the restart",
				tt.name, rebalances, moved)
			t.Log(line)
			recordSummary(line)
			if rebalances < tt.minRebalances || (tt.maxRebalances >= 0 && rebalances > tt.maxRebalances) {
				t.Errorf("got %d rebalances on the other member, want %d to %d", rebalances, tt.minRebalances, tt.maxRebalances)
			}
			if tt.requireNoMoves && moved != 0 {
				t.Errorf("got %d revocations or losses of partitions on the other member, want 0: "+
					"a static member restarted within session_timeout must not move partitions", moved)
			}
		})
	}
}

// partitionsMoved counts the revocations and losses a member logged that
// took partitions away from it (a cooperative rebalance logs empty ones).
func partitionsMoved(path string) int {
	return logCount(path, `msg="partitions revoked"`) - logCount(path, `msg="partitions revoked" partitions=map[]`) +
		logCount(path, `msg="partitions lost`)
}

// TestTopicsExcludeAndRack consumes two topics that kafka.topics matches
// as a pattern, one of them excluded by kafka.topics_exclude: every record
// of the other reaches Redis, none of the excluded one does, and the group
// owns and commits none of its partitions. The member also sets kafka.rack,
// which the broker sees in its join metadata (the one-broker cluster has no
// follower to fetch from, so the fetch side is not exercised).
func TestTopicsExcludeAndRack(t *testing.T) {
	const perTopic = 4_000
	s := newScenario(t, "topics-exclude", 3)
	excluded := s.topic + "-skip"
	createTopic(t, s.adm, excluded, 3)
	excludedKeys := []string{"it:" + excluded + ":0", "it:" + excluded + ":1", "it:" + excluded + ":2"}
	t.Cleanup(func() {
		if t.Failed() {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = s.adm.DeleteTopics(ctx, excluded)
		_ = s.rdb.Del(ctx, excludedKeys...).Err()
	})

	pr := newProducer(t, s.topic, s.partitions)
	pr.produce(context.Background(), perTopic)
	pr.flush(t)
	skip := newProducer(t, excluded, 3)
	skip.produce(context.Background(), perTopic)
	skip.flush(t)

	// The second exclusion carries a comma as \, and matches nothing.
	c := startConnector(t, "a", s.env(map[string]string{
		"KRC_KAFKA_TOPICS_REGEX":   "true",
		"KRC_KAFKA_TOPICS":         "^" + regexp.QuoteMeta(s.topic),
		"KRC_KAFKA_TOPICS_EXCLUDE": `-skip$, ^never-\d{1\,3}$`,
		"KRC_KAFKA_RACK":           "zone-a",
	}))
	s.awaitDelivery(t, 2*time.Minute, c)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	groups, err := s.adm.DescribeGroups(ctx, s.group)
	if err != nil {
		t.Fatal(err)
	}
	var owned, racks []string
	for _, m := range groups[s.group].Members {
		if j, ok := m.Join.AsConsumer(); ok && j.Rack != nil {
			racks = append(racks, *j.Rack)
		}
		if a, ok := m.Assigned.AsConsumer(); ok {
			for _, tp := range a.Topics {
				owned = append(owned, fmt.Sprintf("%s%v", tp.Topic, tp.Partitions))
			}
		}
	}
	c.stop(t)

	if !slices.Equal(racks, []string{"zone-a"}) {
		t.Errorf("racks in the group's join metadata: got %q, want [zone-a]", racks)
	}
	if got := strings.Join(owned, " "); strings.Contains(got, excluded) || !strings.Contains(got, s.topic) {
		t.Errorf("group assignment: got %s, want partitions of %s only", got, s.topic)
	}
	n, err := countEntries(ctx, s.rdb, excludedKeys)
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("excluded topic %s: got %d entries in Redis, want 0", excluded, n)
	}
	offs, err := s.adm.FetchOffsets(ctx, s.group)
	if err != nil {
		t.Fatal(err)
	}
	for p := range int32(3) {
		if o, ok := offs.Lookup(excluded, p); ok {
			t.Errorf("excluded topic %s partition %d: got committed offset %d, want none", excluded, p, o.At)
		}
	}
	s.requireCommittedAtEnd(t)
	r := s.verify(t, pr, verifyOpts{noDuplicates: true})
	line := fmt.Sprintf("topics_exclude: %d entries from %s, %d from the excluded %s; rack in join metadata %q",
		r.Entries, s.topic, n, excluded, racks)
	t.Log(line)
	recordSummary(line)
}
