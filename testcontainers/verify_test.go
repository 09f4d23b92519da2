//go:build integration

package testcontainers

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kafka-redis-connector/kafka-redis-connector/oracle"
	"github.com/kafka-redis-connector/kafka-redis-connector/sink"
)

func itoa(n int) string { return strconv.Itoa(n) }

// waitFor polls cond until it reports done, failing the test after timeout
// with cond's last status, or at once when one of procs exits unasked.
func waitFor(t *testing.T, timeout time.Duration, what string, procs []*connectorProcess,
	cond func(ctx context.Context) (done bool, status string)) {
	t.Helper()
	if err := poll(t, timeout, what, procs, cond); err != nil {
		t.Fatal(err)
	}
}

// poll is waitFor returning the timeout as an error; a connector that exits
// unasked still fails the test at once.
func poll(t *testing.T, timeout time.Duration, what string, procs []*connectorProcess,
	cond func(ctx context.Context) (done bool, status string)) error {
	t.Helper()
	deadline := time.Now().Add(timeout)
	lastLog := time.Now()
	status := ""
	for {
		for _, p := range procs {
			if err := p.diedUnexpectedly(); err != nil {
				t.Fatalf("waiting for %s: %v", what, err)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		done, st := cond(ctx)
		cancel()
		if st != "" {
			status = st
		}
		if done {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s waiting for %s: %s", timeout, what, status)
		}
		if time.Since(lastLog) >= 10*time.Second {
			t.Logf("waiting for %s: %s", what, status)
			lastLog = time.Now()
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// entries counts the entries of the scenario's streams.
func (s *scenario) entries(ctx context.Context) (int64, error) {
	return countEntries(ctx, s.rdb, s.streamKeys())
}

// countEntries sums the lengths of the streams at keys.
func countEntries(ctx context.Context, rdb redis.Cmdable, keys []string) (int64, error) {
	pipe := rdb.Pipeline()
	lens := make([]*redis.IntCmd, len(keys))
	for i, key := range keys {
		lens[i] = pipe.XLen(ctx, key)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return 0, err
	}
	var n int64
	for _, c := range lens {
		n += c.Val()
	}
	return n, nil
}

// waitEntries waits until the streams hold at least want entries.
func (s *scenario) waitEntries(t *testing.T, want int64, timeout time.Duration, procs ...*connectorProcess) {
	t.Helper()
	waitFor(t, timeout, fmt.Sprintf("%d stream entries", want), procs, func(ctx context.Context) (bool, string) {
		n, err := s.entries(ctx)
		if err != nil {
			return false, "redis: " + err.Error()
		}
		return n >= want, fmt.Sprintf("%d of %d entries", n, want)
	})
}

// committedAndEnd returns, per partition, the group's committed offset (0
// when none) and the partition's end offset.
func (s *scenario) committedAndEnd(ctx context.Context) (committed, end []int64, err error) {
	offs, err := s.adm.FetchOffsets(ctx, s.group)
	if err != nil {
		return nil, nil, fmt.Errorf("fetch committed offsets: %w", err)
	}
	ends, err := s.adm.ListEndOffsets(ctx, s.topic)
	if err != nil {
		return nil, nil, fmt.Errorf("list end offsets: %w", err)
	}
	committed, end = make([]int64, s.partitions), make([]int64, s.partitions)
	for p := range s.partitions {
		if o, ok := offs.Lookup(s.topic, p); ok {
			if o.Err != nil {
				return nil, nil, fmt.Errorf("committed offset of %s/%d: %w", s.topic, p, o.Err)
			}
			committed[p] = max(o.At, 0)
		}
		e, ok := ends.Lookup(s.topic, p)
		if !ok || e.Err != nil {
			return nil, nil, fmt.Errorf("end offset of %s/%d: missing or %v", s.topic, p, e.Err)
		}
		end[p] = e.Offset
	}
	return committed, end, nil
}

// waitCaughtUp waits until the group has committed every partition's end
// offset: every record produced so far is in Redis (the commit rule).
func (s *scenario) waitCaughtUp(t *testing.T, timeout time.Duration, procs ...*connectorProcess) {
	t.Helper()
	if err := poll(t, timeout, "committed offsets to reach the end offsets", procs, s.caughtUp); err != nil {
		t.Fatal(err)
	}
}

// awaitDelivery is the end of a scenario: it waits, after the load was
// acknowledged, until the group has committed every end offset. On timeout
// it only records the failure, so that the scenario still stops its
// connectors and reports what the oracle finds in Redis.
func (s *scenario) awaitDelivery(t *testing.T, timeout time.Duration, procs ...*connectorProcess) {
	t.Helper()
	if err := poll(t, timeout, "committed offsets to reach the end offsets", procs, s.caughtUp); err != nil {
		t.Error(err)
	}
}

func (s *scenario) caughtUp(ctx context.Context) (bool, string) {
	committed, end, err := s.committedAndEnd(ctx)
	if err != nil {
		return false, err.Error()
	}
	var lag int64
	for p := range committed {
		lag += end[p] - committed[p]
	}
	n, err := s.entries(ctx)
	if err != nil {
		return false, "redis: " + err.Error()
	}
	return lag == 0, fmt.Sprintf("lag %d (committed %v, end %v), %d entries in Redis", lag, committed, end, n)
}

// progress describes where the scenario stands: entries in Redis, committed
// and end offsets.
func (s *scenario) progress(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n, err := s.entries(ctx)
	if err != nil {
		return "redis: " + err.Error()
	}
	committed, end, err := s.committedAndEnd(ctx)
	if err != nil {
		return err.Error()
	}
	return fmt.Sprintf("%d entries in Redis, committed offsets %v, end offsets %v", n, committed, end)
}

// requireCommittedAtEnd requires committed == end offset for every partition.
func (s *scenario) requireCommittedAtEnd(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	committed, end, err := s.committedAndEnd(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for p := range committed {
		if committed[p] != end[p] {
			t.Errorf("partition %d: got committed offset %d, want the end offset %d", p, committed[p], end[p])
		}
	}
}

// checkCommittedHeld checks the commit rule at this moment: every offset
// below a partition's committed offset has an entry in Redis. The offsets
// are fetched before Redis is read; Redis only gains entries meanwhile, so
// a miss is a commit that ran ahead of Redis. It returns the committed
// offsets.
func (s *scenario) checkCommittedHeld(t *testing.T) []int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	committed, _, err := s.committedAndEnd(ctx)
	if err != nil {
		t.Fatal(err)
	}
	held := true
	for p := range s.partitions {
		seen := make(map[int64]bool)
		err := sink.ReadStream(ctx, s.rdb, s.streamKey(p), func(id string, f map[string]any) error {
			off, err := strconv.ParseInt(fmt.Sprint(f["offset"]), 10, 64)
			if err != nil {
				return fmt.Errorf("entry %s: offset field %q: %w", id, f["offset"], err)
			}
			seen[off] = true
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		var missing []int64
		for off := int64(0); off < committed[p]; off++ {
			if !seen[off] {
				missing = append(missing, off)
			}
		}
		if len(missing) > 0 {
			held = false
			t.Errorf("partition %d: offset %d committed but %d records below it are not in Redis (first %v)",
				p, committed[p], len(missing), missing[:min(len(missing), 10)])
		}
	}
	if !held {
		t.FailNow()
	}
	return committed
}

// verifyOpts tunes the oracle check of a scenario.
type verifyOpts struct {
	// noDuplicates also requires duplicated = 0: for scenarios without a
	// crash and without a Redis timeout (the delivery contract's only
	// sources of duplicates), and for every scenario under
	// delivery.guarantee exactly_once.
	noDuplicates bool
}

// verify reads every stream back and checks it with the oracle against what
// Kafka acknowledged: lost = 0 and out_of_order = 0 are required,
// duplicates are reported.
func (s *scenario) verify(t *testing.T, pr *producer, opts verifyOpts) oracle.Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	acked, failed, _ := pr.result()
	c := oracle.NewChecker()
	for _, r := range acked {
		c.Expect(r.partition, r.seq)
	}
	var bad []string
	for p := range s.partitions {
		want := strconv.Itoa(int(p))
		err := sink.ReadStream(ctx, s.rdb, s.streamKey(p), func(id string, f map[string]any) error {
			vp, seq, ok := parseValue(fmt.Sprint(f["value"]))
			switch {
			case !ok:
				bad = append(bad, fmt.Sprintf("%s %s: value %q does not name a record", s.streamKey(p), id, f["value"]))
			case vp != p || f["partition"] != want || f["topic"] != s.topic:
				bad = append(bad, fmt.Sprintf("%s %s: got record p=%d with partition=%v topic=%v, want partition %d of %s",
					s.streamKey(p), id, vp, f["partition"], f["topic"], p, s.topic))
			}
			if ok {
				c.Observe(vp, seq)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	r := c.Report()
	logOracle(t, s.name, r)
	for _, b := range bad[:min(len(bad), 10)] {
		t.Error(b)
	}
	checkReport(t, r, failed, opts)
	return r
}

func logOracle(t *testing.T, name string, r oracle.Report) {
	t.Helper()
	line := fmt.Sprintf("oracle %s%s: sent=%d lost=%d duplicated=%d out_of_order=%d unexpected=%d entries=%d",
		name, svc.redisLabel, r.Expected, r.Lost, r.Duplicated, r.OutOfOrder, r.Unexpected, r.Entries)
	t.Log(line)
	recordSummary(line)
}

// checkReport applies the pass rule. Entries for records the producer saw
// fail are tolerated up to the number of such records: Kafka may have
// stored a record whose acknowledgement was lost.
func checkReport(t *testing.T, r oracle.Report, produceFailures int, opts verifyOpts) {
	t.Helper()
	if r.Expected == 0 {
		t.Error("oracle: no record was produced")
	}
	if r.Lost != 0 {
		t.Errorf("oracle: got lost=%d, want 0", r.Lost)
	}
	if r.OutOfOrder != 0 {
		t.Errorf("oracle: got out_of_order=%d, want 0", r.OutOfOrder)
	}
	if r.Unexpected > produceFailures {
		t.Errorf("oracle: got unexpected=%d, want at most %d (records whose produce failed)", r.Unexpected, produceFailures)
	}
	if opts.noDuplicates && r.Duplicated != 0 {
		t.Errorf("oracle: got duplicated=%d, want 0: no crash and no Redis timeout in this scenario, or exactly_once", r.Duplicated)
	}
}

// parseValue reads "p=<partition>;seq=<n>;..." back.
func parseValue(v string) (int32, int64, bool) {
	ps, rest, ok := strings.Cut(strings.TrimPrefix(v, "p="), ";seq=")
	if !ok || !strings.HasPrefix(v, "p=") {
		return 0, 0, false
	}
	ss, _, ok := strings.Cut(rest, ";")
	if !ok {
		return 0, 0, false
	}
	p, err1 := strconv.ParseInt(ps, 10, 32)
	seq, err2 := strconv.ParseInt(ss, 10, 64)
	return int32(p), seq, err1 == nil && err2 == nil
}

// groupMembers describes the group: its state and, per member, the number of
// partitions assigned.
func (s *scenario) groupMembers(ctx context.Context) (string, []int, error) {
	groups, err := s.adm.DescribeGroups(ctx, s.group)
	if err != nil {
		return "", nil, err
	}
	g, ok := groups[s.group]
	if !ok {
		return "", nil, fmt.Errorf("group %s not described", s.group)
	}
	if g.Err != nil {
		return "", nil, g.Err
	}
	var assigned []int
	for _, m := range g.Members {
		n := 0
		if a, ok := m.Assigned.AsConsumer(); ok {
			for _, tp := range a.Topics {
				n += len(tp.Partitions)
			}
		}
		assigned = append(assigned, n)
	}
	sort.Ints(assigned)
	return g.State, assigned, nil
}

// waitMembers waits until the group is stable with n members, each owning
// at least one partition.
func (s *scenario) waitMembers(t *testing.T, n int, timeout time.Duration, procs ...*connectorProcess) {
	t.Helper()
	waitFor(t, timeout, fmt.Sprintf("a stable group of %d members", n), procs, func(ctx context.Context) (bool, string) {
		state, assigned, err := s.groupMembers(ctx)
		if err != nil {
			return false, err.Error()
		}
		ok := state == "Stable" && len(assigned) == n
		for _, a := range assigned {
			ok = ok && a > 0
		}
		return ok, fmt.Sprintf("state %s, partitions per member %v", state, assigned)
	})
}
