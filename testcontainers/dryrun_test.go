//go:build integration

package testcontainers

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
)

// TestDryRun runs `dry-run --json` against real Kafka on a topic whose
// group has committed offsets: it prints the entries the connector would
// write for the first records, and leaves the group's offsets, its
// membership and Redis as they were.
func TestDryRun(t *testing.T) {
	const records = 5
	s := newScenario(t, "dry-run", 2)
	pr := newProducer(t, s.topic, s.partitions)
	pr.produce(context.Background(), 40)
	pr.flush(t)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// The group has been somewhere: partition 0 committed at 3, 1 at 7.
	commit := kadm.Offsets{}
	commit.AddOffset(s.topic, 0, 3, -1)
	commit.AddOffset(s.topic, 1, 7, -1)
	if err := s.adm.CommitAllOffsets(ctx, s.group, commit); err != nil {
		t.Fatalf("commit the starting offsets: %v", err)
	}
	before, err := s.adm.FetchOffsets(ctx, s.group)
	if err != nil {
		t.Fatal(err)
	}
	keysBefore, err := s.rdb.DBSize(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}

	stdout, stderr := runDryRun(t, s.env(map[string]string{"KRC_STREAM_MAX_LEN": "500"}),
		"--records", itoa(records), "--json", "--timeout", "3s")
	var lines []dryRunLine
	sc := bufio.NewScanner(bytes.NewReader(stdout))
	for sc.Scan() {
		var l dryRunLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("stdout line %q: got %v, want JSON", sc.Text(), err)
		}
		lines = append(lines, l)
	}
	if len(lines) != records {
		t.Fatalf("got %d lines, want %d\nstdout:\n%s\nstderr:\n%s", len(lines), records, stdout, stderr)
	}
	wantTrim := map[string]any{"strategy": "MAXLEN", "approx": true, "threshold": 500.0}
	for _, l := range lines {
		p, seq, ok := parseValue(l.Fields["value"])
		switch {
		case l.Error != nil:
			t.Errorf("%d@%d: got error %v, want an entry", l.Partition, l.Offset, l.Error)
		case l.Stream != s.streamKey(l.Partition) || l.ID != "*" || !reflect.DeepEqual(l.Trim, wantTrim):
			t.Errorf("%d@%d: got stream %q id %q trim %v, want %s * %v", l.Partition, l.Offset, l.Stream, l.ID, l.Trim,
				s.streamKey(l.Partition), wantTrim)
		case !ok || p != l.Partition || seq != l.Offset || l.Fields["offset"] != itoa(int(l.Offset)) || l.Fields["topic"] != s.topic:
			// The producer's sequence is the offset: one producer, from 0.
			t.Errorf("%d@%d: got fields %v, want the record's value, topic and offset", l.Partition, l.Offset, l.Fields)
		}
	}
	if want := "dry run: 5 records; 5 would be written, 0 would meet an error; nothing was written"; !strings.Contains(string(stderr), want) {
		t.Errorf("stderr: got %q, want it to contain %q", stderr, want)
	}

	after, err := s.adm.FetchOffsets(ctx, s.group)
	if err != nil {
		t.Fatal(err)
	}
	var committedBefore, committedAfter []int64
	for p := range s.partitions {
		b, _ := before.Lookup(s.topic, p)
		a, _ := after.Lookup(s.topic, p)
		committedBefore, committedAfter = append(committedBefore, b.At), append(committedAfter, a.At)
		if a.At != b.At {
			t.Errorf("partition %d: got committed offset %d after the dry run, want %d as before", p, a.At, b.At)
		}
	}
	groups, err := s.adm.DescribeGroups(ctx, s.group)
	if err != nil {
		t.Fatal(err)
	}
	if g := groups[s.group]; len(g.Members) != 0 {
		t.Errorf("group %s: got %d members, want 0: the dry run must not join", s.group, len(g.Members))
	}
	n, err := countEntries(ctx, s.rdb, s.streamKeys())
	if err != nil {
		t.Fatal(err)
	}
	keysAfter, err := s.rdb.DBSize(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	exist, err := s.rdb.Exists(ctx, s.streamKeys()...).Result()
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 || exist != 0 {
		t.Errorf("redis: got %d entries in %d of the scenario's streams, want no stream at all", n, exist)
	}
	t.Logf("dry run sample: %s", bytes.SplitN(stdout, []byte("\n"), 2)[0])
	line := fmt.Sprintf("dry-run: %d lines, committed offsets %v before and %v after, %d stream entries, redis keys %d before and %d after",
		len(lines), committedBefore, committedAfter, n, keysBefore, keysAfter)
	t.Log(line)
	recordSummary(line)
}

// dryRunLine is the part of a `dry-run --json` line the test checks.
type dryRunLine struct {
	Partition int32             `json:"partition"`
	Offset    int64             `json:"offset"`
	Stream    string            `json:"stream"`
	ID        string            `json:"id"`
	Trim      map[string]any    `json:"trim"`
	Fields    map[string]string `json:"fields"`
	Error     map[string]string `json:"error"`
}

// runDryRun runs the connector binary's dry-run command with env (KRC_
// variables only, as startConnector does) and requires exit code 0.
func runDryRun(t *testing.T, env map[string]string, args ...string) (stdout, stderr []byte) {
	t.Helper()
	cmd := exec.Command(connectorBin, append([]string{"dry-run"}, args...)...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KRC_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("dry-run %v: %v\nstdout:\n%s\nstderr:\n%s", args, err, out.String(), errOut.String())
	}
	return out.Bytes(), errOut.Bytes()
}
