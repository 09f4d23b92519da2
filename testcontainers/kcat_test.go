//go:build integration

package testcontainers

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kafka-redis-connector/kafka-redis-connector/oracle"
	"github.com/kafka-redis-connector/kafka-redis-connector/sink"
)

// kcatRecord is one record produced by kcat and what its entry must hold.
type kcatRecord struct {
	partition int32
	seq       int64 // also its offset: one producer per partition, fresh topic
	key       *string
	tenant    string
	trace     string
}

func (r kcatRecord) value() string { return fmt.Sprintf("p=%d;seq=%d;", r.partition, r.seq) }

// kcatBatch is one kcat invocation: count records to one partition with the
// same headers; keyMode is "line" (-K, a key per line), "fixed" (-k) or ""
// (no key).
type kcatBatch struct {
	tenant  string
	keyMode string
	count   int
}

// TestKcatKeysAndHeaders: records produced by an independent client (kcat,
// librdkafka) with keys and headers land in the streams named by a
// {header:NAME} key template, with the documented fields: value, key (only
// when the record has one), topic, partition, offset, timestamp, and one
// field per header under stream.headers_prefix.
func TestKcatKeysAndHeaders(t *testing.T) {
	needServices(t)
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but kcat is not installed (Debian package kcat)")
		}
		t.Skip("needs kcat (Debian package kcat)")
	}
	s := newScenario(t, "kcat_keys_headers", 3)
	start := time.Now()
	batches := []kcatBatch{
		{tenant: "acme", keyMode: "line", count: 50},
		{tenant: "globex", keyMode: "fixed", count: 30},
		{tenant: "acme", keyMode: "", count: 20},
	}
	var recs []kcatRecord
	for p := range s.partitions {
		seq := int64(0)
		for _, b := range batches {
			var batch []kcatRecord
			for range b.count {
				r := kcatRecord{partition: p, seq: seq, tenant: b.tenant, trace: "t" + strconv.Itoa(int(p))}
				switch b.keyMode {
				case "line":
					k := fmt.Sprintf("%s-%d-%d", b.tenant, p, seq)
					r.key = &k
				case "fixed":
					k := b.tenant + "-key"
					r.key = &k
				}
				batch = append(batch, r)
				seq++
			}
			runKcat(t, kcat, s.topic, p, b, batch)
			recs = append(recs, batch...)
		}
	}

	streamOf := func(p int32, tenant string) string {
		return fmt.Sprintf("it:%s:%d:%s", s.topic, p, tenant)
	}
	var keys []string
	for p := range s.partitions {
		keys = append(keys, streamOf(p, "acme"), streamOf(p, "globex"))
	}
	t.Cleanup(func() {
		if !t.Failed() {
			_ = s.rdb.Del(context.Background(), keys...).Err()
		}
	})

	c := startConnector(t, "a", s.env(map[string]string{
		"KRC_STREAM_KEY":            "it:{topic}:{partition}:{header:tenant}",
		"KRC_STREAM_HEADERS_PREFIX": "h_",
	}))
	waitFor(t, time.Minute, fmt.Sprintf("%d entries in %d streams", len(recs), len(keys)), []*connectorProcess{c},
		func(ctx context.Context) (bool, string) {
			n, err := countEntries(ctx, s.rdb, keys)
			if err != nil {
				return false, err.Error()
			}
			return n >= int64(len(recs)), fmt.Sprintf("%d of %d entries", n, len(recs))
		})
	s.waitCaughtUp(t, time.Minute, c)
	c.stop(t)
	s.requireCommittedAtEnd(t)

	// One checker per stream: a stream holds a subsequence of a partition.
	checkers := make(map[string]*oracle.Checker)
	want := make(map[[2]int64]kcatRecord)
	for _, r := range recs {
		k := streamOf(r.partition, r.tenant)
		if checkers[k] == nil {
			checkers[k] = oracle.NewChecker()
		}
		checkers[k].Expect(r.partition, r.seq)
		want[[2]int64{int64(r.partition), r.seq}] = r
	}
	lo, hi := start.Add(-time.Minute).UnixMilli(), time.Now().Add(time.Minute).UnixMilli()
	errs := 0
	report := func(format string, args ...any) {
		if errs++; errs <= 10 {
			t.Errorf(format, args...)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, key := range keys {
		err := sink.ReadStream(ctx, s.rdb, key, func(id string, f map[string]any) error {
			p, seq, ok := parseValue(fmt.Sprint(f["value"]))
			r, known := want[[2]int64{int64(p), seq}]
			if !ok || !known {
				report("%s %s: value %q names no produced record", key, id, f["value"])
				return nil
			}
			checkers[key].Observe(p, seq)
			if got := streamOf(r.partition, r.tenant); got != key {
				report("%s %s: record p=%d seq=%d landed here, want stream %s", key, id, p, seq, got)
			}
			wantFields := map[string]string{
				"value": r.value(), "topic": s.topic, "partition": strconv.Itoa(int(r.partition)),
				"offset": strconv.FormatInt(r.seq, 10), "h_tenant": r.tenant, "h_trace": r.trace,
			}
			if r.key != nil {
				wantFields["key"] = *r.key
			}
			for name, v := range wantFields {
				if got, ok := f[name]; !ok || got != v {
					report("%s %s: field %s: got %v (present %t), want %q", key, id, name, got, ok, v)
				}
			}
			ts, err := strconv.ParseInt(fmt.Sprint(f["timestamp"]), 10, 64)
			if err != nil || ts < lo || ts > hi {
				report("%s %s: got timestamp %v, want milliseconds within [%d, %d]", key, id, f["timestamp"], lo, hi)
			}
			if extra := extraFields(f, wantFields); extra != "" {
				report("%s %s: unexpected fields %s", key, id, extra)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	var total oracle.Report
	for _, c := range checkers {
		r := c.Report()
		total.Expected += r.Expected
		total.Entries += r.Entries
		total.Lost += r.Lost
		total.Duplicated += r.Duplicated
		total.OutOfOrder += r.OutOfOrder
		total.Unexpected += r.Unexpected
	}
	logOracle(t, s.name, total)
	checkReport(t, total, 0, verifyOpts{noDuplicates: true})
}

// runKcat produces batch to partition p with one kcat invocation.
func runKcat(t *testing.T, kcat, topic string, p int32, b kcatBatch, batch []kcatRecord) {
	t.Helper()
	args := []string{"-P", "-b", strings.Join(svc.brokers, ","), "-t", topic, "-p", strconv.Itoa(int(p)),
		"-H", "tenant=" + b.tenant, "-H", "trace=" + batch[0].trace}
	var in bytes.Buffer
	switch b.keyMode {
	case "line":
		args = append(args, "-K", ":")
	case "fixed":
		args = append(args, "-k", *batch[0].key)
	}
	for _, r := range batch {
		if b.keyMode == "line" {
			in.WriteString(*r.key + ":")
		}
		in.WriteString(r.value() + "\n")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, kcat, args...)
	cmd.Stdin = &in
	if out, err := cmd.CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("kcat %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// extraFields lists the fields of f that are neither wanted nor the timestamp.
func extraFields(f map[string]any, want map[string]string) string {
	var extra []string
	for name := range f {
		if _, ok := want[name]; !ok && name != "timestamp" {
			extra = append(extra, name)
		}
	}
	sort.Strings(extra)
	return strings.Join(extra, ",")
}
