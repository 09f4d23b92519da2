package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
)

// dryRunCluster is a kfake broker holding, in partition 0 of "orders",
// the records the dry-run tests read: a JSON object with a key and a
// header, a record without a key, a value that is not JSON, and one too
// large for max_entry_bytes. "orders-dlq" and "audit" exist for the topic
// patterns.
func dryRunCluster(t *testing.T) *kfake.Cluster {
	t.Helper()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "orders", "orders-dlq", "audit"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	cl, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ts := time.Date(2026, 12, 2, 5, 0, 0, 123e6, time.UTC)
	recs := []*kgo.Record{
		{Topic: "orders", Key: []byte("k1"), Value: []byte(`{"id":7,"item":"tea"}`), Headers: []kgo.RecordHeader{{Key: "tenant", Value: []byte("acme")}}},
		{Topic: "orders", Value: []byte(`{"id":8}`)},
		{Topic: "orders", Key: []byte("k3"), Value: []byte(`not json`)},
		{Topic: "orders", Key: []byte("k4"), Value: []byte(`{"blob":"` + strings.Repeat("x", 300) + `"}`)},
		{Topic: "audit", Key: []byte("a1"), Value: []byte(`{"who":"root"}`)},
	}
	for _, r := range recs {
		r.Timestamp = ts
	}
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	return cluster
}

// dryRunConfig writes a config for the cluster, with kafka lines (each
// indented) and extra top-level sections; Redis is a miniredis whose
// connection count shows the dry run never reached it.
func dryRunConfig(t *testing.T, cluster *kfake.Cluster, mr *miniredis.Miniredis, kafka, extra string) string {
	t.Helper()
	yaml := "kafka:\n  brokers: [" + cluster.ListenAddrs()[0] + "]\n  group: dry-run-test\n" + kafka +
		"redis:\n  addrs: ['" + mr.Addr() + "']\n" +
		"stream:\n  format: json\n  max_len: 1000\n  max_entry_bytes: 200\n  key: 'orders:{header:tenant}'\n  fallback_key: 'orders:unrouted'\n  headers_prefix: 'h.'\n" +
		extra
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestDryRunHuman(t *testing.T) {
	cluster := dryRunCluster(t)
	mr := miniredis.RunT(t)
	file := dryRunConfig(t, cluster, mr, "  topics: [orders]\n", "")
	var stdout, stderr bytes.Buffer
	code := run([]string{"dry-run", "--config", file, "--records", "4"}, &stdout, &stderr)
	out := stdout.String()
	if code != 0 {
		t.Fatalf("exit code: got %d, want 0\nstdout:\n%s\nstderr:\n%s", code, out, stderr.String())
	}
	for _, want := range []string{
		"dry run: up to 4 records of orders from the earliest offset; nothing is written to Redis, the group dry-run-test is not joined",
		"orders/0 offset 0  2026-12-02T05:00:00.123Z  key \"k1\"\n  XADD orders:acme MAXLEN ~ 1000 *\n",
		"    id        \"7\"\n    item      \"tea\"\n    key       \"k1\"\n    h.tenant  \"acme\"\n    topic     \"orders\"\n    partition \"0\"\n    offset    \"0\"\n    timestamp \"1796187600123\"\n",
		"orders/0 offset 1  2026-12-02T05:00:00.123Z  no key\n  XADD orders:unrouted MAXLEN ~ 1000 *  (stream.fallback_key",
		"orders/0 offset 2  2026-12-02T05:00:00.123Z  key \"k3\"\n  stream orders:unrouted\n  error invalid_json: sink: record value is not a JSON object",
		"-> the connector would stop here (errors.policy fail)",
		"orders/0 offset 3  2026-12-02T05:00:00.123Z  key \"k4\"\n  stream orders:unrouted\n  error entry_too_large: ",
		"dry run: 4 records; 2 would be written, 2 would meet an error; nothing was written\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q; got:\n%s", want, out)
		}
	}
	if n := mr.TotalConnectionCount(); n != 0 {
		t.Errorf("redis: got %d connections, want 0", n)
	}
	requireNoGroup(t, cluster, "dry-run-test")
}

func TestDryRunJSON(t *testing.T) {
	cluster := dryRunCluster(t)
	mr := miniredis.RunT(t)
	// The pattern matches orders and orders-dlq; the exclusion drops the
	// second; audit is not matched. Only 4 records exist, so the run stops
	// after --timeout without a fifth.
	file := dryRunConfig(t, cluster, mr, "  topics: ['^orders']\n  topics_regex: true\n  topics_exclude: ['-dlq$']\n",
		"errors:\n  policy: skip\n")
	var stdout, stderr bytes.Buffer
	code := run([]string{"dry-run", "--config", file, "--records", "10", "--json", "--timeout", "500ms"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit code: got %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	type line struct {
		Topic     string            `json:"topic"`
		Offset    int64             `json:"offset"`
		Key       *string           `json:"key"`
		Stream    string            `json:"stream"`
		Fallback  bool              `json:"fallback"`
		ID        string            `json:"id"`
		Trim      map[string]any    `json:"trim"`
		Fields    map[string]string `json:"fields"`
		Error     map[string]string `json:"error"`
		Timestamp string            `json:"timestamp"`
	}
	var got []line
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		var l line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("stdout line %q: got %v, want a JSON object", sc.Text(), err)
		}
		got = append(got, l)
	}
	if len(got) != 4 {
		t.Fatalf("got %d JSON lines, want 4:\n%s", len(got), stdout.String())
	}
	first := got[0]
	wantFields := map[string]string{"id": "7", "item": "tea", "key": "k1", "h.tenant": "acme", "topic": "orders",
		"partition": "0", "offset": "0", "timestamp": "1796187600123"}
	if first.Stream != "orders:acme" || first.ID != "*" || first.Fallback || !reflect.DeepEqual(first.Fields, wantFields) {
		t.Errorf("record 0: got stream %q id %q fallback %v fields %v, want orders:acme * false %v",
			first.Stream, first.ID, first.Fallback, first.Fields, wantFields)
	}
	if want := map[string]any{"strategy": "MAXLEN", "approx": true, "threshold": 1000.0}; !reflect.DeepEqual(first.Trim, want) {
		t.Errorf("record 0 trim: got %v, want %v", first.Trim, want)
	}
	if got[1].Key != nil || !got[1].Fallback || got[1].Stream != "orders:unrouted" {
		t.Errorf("record 1: got key %v fallback %v stream %q, want no key, the fallback stream orders:unrouted",
			got[1].Key, got[1].Fallback, got[1].Stream)
	}
	poison := got[2]
	if poison.Error["reason"] != "invalid_json" || poison.Error["policy"] != "skip" || poison.ID != "" || poison.Fields != nil {
		t.Errorf("poison record: got error %v id %q fields %v, want reason invalid_json, policy skip, no entry", poison.Error, poison.ID, poison.Fields)
	}
	if got[3].Error["reason"] != "entry_too_large" {
		t.Errorf("record 3: got error %v, want reason entry_too_large", got[3].Error)
	}
	for _, l := range got {
		if l.Topic != "orders" {
			t.Errorf("got a record of %s, want only orders (orders-dlq excluded, audit not matched)", l.Topic)
		}
	}
	if want := "dry run: 4 of 10 records, then none for 500ms; 2 would be written, 2 would meet an error"; !strings.Contains(stderr.String(), want) {
		t.Errorf("stderr: got %q, want it to contain %q", stderr.String(), want)
	}
	if n := mr.TotalConnectionCount(); n != 0 {
		t.Errorf("redis: got %d connections, want 0", n)
	}
	requireNoGroup(t, cluster, "dry-run-test")
}

func TestDryRunUsage(t *testing.T) {
	cluster := dryRunCluster(t)
	mr := miniredis.RunT(t)
	good := dryRunConfig(t, cluster, mr, "  topics: [orders]\n", "")
	missing := dryRunConfig(t, cluster, mr, "  topics: [nope]\n", "")
	bad := dryRunConfig(t, cluster, mr, "  topics_exclude: [x]\n", "")
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr string
	}{
		{"records zero", []string{"dry-run", "--config", good, "--records", "0"}, 2, "--records must be at least 1"},
		{"from somewhere", []string{"dry-run", "--config", good, "--from", "middle"}, 2, `--from must be earliest or latest, got "middle"`},
		{"timeout zero", []string{"dry-run", "--config", good, "--timeout", "0s"}, 2, "--timeout must be positive"},
		{"bad config", []string{"dry-run", "--config", bad}, 2, "kafka.topics_exclude = [x]: needs kafka.topics_regex"},
		{"unknown topic", []string{"dry-run", "--config", missing}, 1, "kafka.topics: cannot read nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(tt.args, &stdout, &stderr); code != tt.wantCode {
				t.Fatalf("exit code: got %d, want %d (stderr: %s)", code, tt.wantCode, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("stderr: got %q, want it to contain %q", stderr.String(), tt.wantStderr)
			}
		})
	}
}

// requireNoGroup fails unless the cluster has no group named group: the
// dry run neither joined nor committed.
func requireNoGroup(t *testing.T, cluster *kfake.Cluster, group string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	groups, err := kadm.NewClient(cl).ListGroups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if names := groups.Groups(); len(names) != 0 {
		t.Errorf("groups: got %v, want none (%s neither joined nor committed)", names, group)
	}
}

// TestEntryPreviewer renders single records under configurations the
// cluster tests do not use: the raw format with a binary value, exact
// trimming, no trimming, encryption.
func TestEntryPreviewer(t *testing.T) {
	rec := &kgo.Record{Topic: "t", Partition: 2, Offset: 9, Value: []byte{0xff, 0x00, 'a'},
		Timestamp: time.UnixMilli(1000).UTC()}
	tests := []struct {
		name   string
		mutate func(*config.Config)
		want   string // the --json line
	}{
		{"raw binary value, exact trim", func(c *config.Config) { c.Stream.MaxLen = 5; c.Stream.ApproxTrim = false },
			`{"topic":"t","partition":2,"offset":9,"timestamp":"1970-01-01T00:00:01.000Z","key":null,"stream":"t","id":"*",` +
				`"trim":{"strategy":"MAXLEN","approx":false,"threshold":5},"fields":{"value":"/wBh","topic":"t","partition":"2","offset":"9","timestamp":"1000"},` +
				`"base64_fields":["value"]}`},
		{"no trim, no metadata", func(c *config.Config) { c.Stream.Metadata = nil },
			`{"topic":"t","partition":2,"offset":9,"timestamp":"1970-01-01T00:00:01.000Z","key":null,"stream":"t","id":"*",` +
				`"fields":{"value":"/wBh"},"base64_fields":["value"]}`},
		{"encryption adds the key id field and marks the sealed value", func(c *config.Config) {
			c.Stream.Metadata = []string{"offset"}
			c.Encryption = config.Encryption{Enabled: true, KeyID: "k2026", Keys: []string{"k2026=/unused"}, KeyIDField: "enc_key_id"}
		},
			`{"topic":"t","partition":2,"offset":9,"timestamp":"1970-01-01T00:00:01.000Z","key":null,"stream":"t","id":"*",` +
				`"fields":{"value":"/wBh","enc_key_id":"k2026","offset":"9"},"base64_fields":["value"],"sealed_fields":["value"]}`},
		{"unresolvable key without fallback", func(c *config.Config) { c.Stream.Key = "s:{key}" },
			`{"topic":"t","partition":2,"offset":9,"timestamp":"1970-01-01T00:00:01.000Z","key":null,` +
				`"error":{"reason":"unresolvable_key","message":"sink: stream key template cannot be resolved for this record: template \"s:{key}\"",` +
				`"policy":"fail","action":"the connector would stop here (errors.policy fail)"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config.Default()
			tt.mutate(&cfg)
			if err := cfg.Validate(); err != nil {
				t.Fatalf("config: %v", err)
			}
			pv, err := newEntryPreviewer(cfg)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := pv.writeJSON(&buf, pv.preview(rec)); err != nil {
				t.Fatal(err)
			}
			if got := strings.TrimSpace(buf.String()); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

// TestDryRunFromLatest: from the end of the partitions, the records already
// there are not read; the run says it saw none.
func TestDryRunFromLatest(t *testing.T) {
	cluster := dryRunCluster(t)
	mr := miniredis.RunT(t)
	file := dryRunConfig(t, cluster, mr, "  topics: [orders]\n", "")
	var stdout, stderr bytes.Buffer
	code := run([]string{"dry-run", "--config", file, "--from", "latest", "--timeout", "300ms"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit code: got %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	want := "dry run: up to 10 records of orders from the latest offset; nothing is written to Redis, the group dry-run-test is not joined, no offset is committed\n" +
		"dry run: 0 of 10 records, then none for 300ms; 0 would be written, 0 would meet an error; nothing was written\n"
	if got := stdout.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// TestDryRunRawFormat: in the raw format the value is one field as it is,
// so the value that is not JSON is an entry like any other; the oversize
// record is still an error.
func TestDryRunRawFormat(t *testing.T) {
	cluster := dryRunCluster(t)
	mr := miniredis.RunT(t)
	file := dryRunConfig(t, cluster, mr, "  topics: [orders]\n", "")
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"human", nil, []string{
			"orders/0 offset 0  2026-12-02T05:00:00.123Z  key \"k1\"\n  XADD orders:acme MAXLEN ~ 1000 *\n    value     \"{\\\"id\\\":7,\\\"item\\\":\\\"tea\\\"}\"\n    key       \"k1\"\n    h.tenant  \"acme\"\n",
			"orders/0 offset 2  2026-12-02T05:00:00.123Z  key \"k3\"\n  XADD orders:unrouted MAXLEN ~ 1000 *  (stream.fallback_key",
			"    value     \"not json\"\n",
			"orders/0 offset 3  2026-12-02T05:00:00.123Z  key \"k4\"\n  stream orders:unrouted\n  error entry_too_large: ",
			"dry run: 4 records; 3 would be written, 1 would meet an error; nothing was written\n",
		}},
		{"json", []string{"--json"}, []string{
			`"stream":"orders:acme","id":"*","trim":{"strategy":"MAXLEN","approx":true,"threshold":1000},"fields":{"value":"{\"id\":7,\"item\":\"tea\"}","key":"k1","h.tenant":"acme",`,
			`"offset":2,"timestamp":"2026-12-02T05:00:00.123Z","key":"k3","stream":"orders:unrouted","fallback":true,"id":"*",`,
			`"offset":3,"timestamp":"2026-12-02T05:00:00.123Z","key":"k4","stream":"orders:unrouted","fallback":true,"error":{"reason":"entry_too_large",`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := append([]string{"dry-run", "--config", file, "--records", "4"}, tt.args...)
			// The cluster's config uses the json format; the environment
			// overrides it, as it would in a container.
			t.Setenv("KRC_STREAM_FORMAT", "raw")
			if code := run(args, &stdout, &stderr); code != 0 {
				t.Fatalf("exit code: got %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("output lacks %s; got:\n%s", w, stdout.String())
				}
			}
		})
	}
}
