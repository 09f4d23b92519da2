package loadgen_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
	"github.com/kafka-redis-connector/kafka-redis-connector/connector"
	"github.com/kafka-redis-connector/kafka-redis-connector/loadgen"
	"github.com/kafka-redis-connector/kafka-redis-connector/sink"
)

// produced runs a generator against an in-process broker: count records
// into a topic created by EnsureTopic.
func produced(t *testing.T, cluster *kfake.Cluster, topic string, partitions int32, count int64, keys int) *loadgen.Generator {
	t.Helper()
	ctx := context.Background()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(cluster.ListenAddrs()...)}, loadgen.ClientOpts(time.Millisecond)...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	got, created, err := loadgen.EnsureTopic(ctx, cl, topic, partitions)
	if err != nil || !created || got != partitions {
		t.Fatalf("EnsureTopic: got %d, %v, %v, want %d, true, nil", got, created, err, partitions)
	}
	if got, created, err := loadgen.EnsureTopic(ctx, cl, topic, 99); err != nil || created || got != partitions {
		t.Fatalf("EnsureTopic again: got %d, %v, %v, want %d, false, nil", got, created, err, partitions)
	}
	gen, err := loadgen.New(loadgen.Config{Topic: topic, Partitions: partitions, Rate: 20000, Duration: time.Minute,
		Count: count, Size: 64, Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	if err := gen.Run(ctx, cl); err != nil {
		t.Fatalf("run: %v", err)
	}
	if p := gen.Progress(); p.Acked != count || p.Failed != 0 {
		t.Fatalf("progress: got acked=%d failed=%d, want %d, 0", p.Acked, p.Failed, count)
	}
	return gen
}

// TestVerifyThroughTheConnector sends records through the real pipeline
// and checks that Verify finds all of them, with latencies, and notices
// what is missing or reordered afterwards.
func TestVerifyThroughTheConnector(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer rdb.Close()
	const topic, count = "loadgen-test", 3000
	gen := produced(t, cluster, topic, 4, count, 10)

	cfg := config.Default()
	cfg.Kafka.Brokers = cluster.ListenAddrs()
	cfg.Kafka.Group = "loadgen-test"
	cfg.Kafka.Topics = []string{topic}
	cfg.Redis.Addrs = []string{mr.Addr()}
	cfg.Stream.Key = "loadgen:{topic}:{partition}"
	cfg.HTTP.Listen = ""
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	w, err := sink.NewWriter(rdb, cfg.Stream)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	ctx, cancel := context.WithCancel(context.Background())
	c := connector.New(cfg, w)
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("connector: %v", err)
		}
	}()

	streams, err := gen.StreamKeys(cfg.Stream.Key)
	if err != nil {
		t.Fatal(err)
	}
	if want := "loadgen:loadgen-test:0 loadgen:loadgen-test:1 loadgen:loadgen-test:2 loadgen:loadgen-test:3"; strings.Join(streams, " ") != want {
		t.Fatalf("streams: got %v, want %s", streams, want)
	}
	rep, err := gen.Verify(ctx, rdb, streams, "value", 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Expected != count || rep.Entries != count || rep.Duplicated != 0 || rep.Foreign != 0 {
		t.Fatalf("report: got %s, want %d entries, nothing lost, duplicated or foreign", rep, count)
	}
	if rep.Latency.Count() != count || rep.Latency.Max() <= 0 {
		t.Fatalf("latency: got %d samples, max %s, want %d samples", rep.Latency.Count(), rep.Latency.Max(), count)
	}

	// Tamper with one stream: lose its second entry, move its first to the
	// end (out of order), repeat its third (duplicate), add a foreign one.
	first, err := rdb.XRangeN(ctx, streams[0], "-", "+", 3).Result()
	if err != nil || len(first) != 3 {
		t.Fatalf("xrange: got %d entries, %v", len(first), err)
	}
	rdb.XDel(ctx, streams[0], first[0].ID, first[1].ID)
	rdb.XAdd(ctx, &redis.XAddArgs{Stream: streams[0], Values: first[0].Values})
	rdb.XAdd(ctx, &redis.XAddArgs{Stream: streams[0], Values: first[2].Values})
	rdb.XAdd(ctx, &redis.XAddArgs{Stream: streams[0], Values: []any{"value", "not a loadgen value"}})
	rep, err = gen.Verify(ctx, rdb, streams, "value", 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Lost != 1 || rep.OutOfOrder != 1 || rep.Duplicated != 1 || rep.Foreign != 1 || rep.OK() {
		t.Fatalf("tampered report: got %s, want lost=1 out_of_order=1 duplicated=1 foreign=1", rep)
	}
}

func TestStreamKeysPerKey(t *testing.T) {
	gen, err := loadgen.New(loadgen.Config{Topic: "t", Partitions: 2, Count: 1, Keys: 3})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		template string
		want     string
		wantErr  bool
	}{
		{template: "{topic}", want: "t"},
		{template: "s:{partition}", want: "s:0 s:1"},
		{template: "{topic}:{key}", want: "t:key-0 t:key-1 t:key-2"},
		{template: "{header:tenant}", wantErr: true},
		{template: "{bogus}", wantErr: true},
	} {
		t.Run(tc.template, func(t *testing.T) {
			got, err := gen.StreamKeys(tc.template)
			if (err != nil) != tc.wantErr {
				t.Fatalf("error: got %v, want error %v", err, tc.wantErr)
			}
			if !tc.wantErr && strings.Join(got, " ") != tc.want {
				t.Fatalf("got %v, want %s", got, tc.want)
			}
		})
	}
}

func TestNewRejectsBadConfigs(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  loadgen.Config
	}{
		{"no topic", loadgen.Config{Partitions: 1, Count: 1}},
		{"no partitions", loadgen.Config{Topic: "t", Count: 1}},
		{"no bound", loadgen.Config{Topic: "t", Partitions: 1}},
		{"negative rate", loadgen.Config{Topic: "t", Partitions: 1, Count: 1, Rate: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := loadgen.New(tc.cfg); err == nil {
				t.Fatal("got nil, want an error")
			}
		})
	}
}
