package connector_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/kafka-redis-connector/kafka-redis-connector/connector"
)

// Lag is true from the first second: end offsets against the group's
// committed offsets for every assigned partition, before this member
// fetched or committed anything (here Redis fails, so it commits nothing).
func TestComponentLagFromAssignment(t *testing.T) {
	for _, tc := range []struct {
		name      string
		committed int64 // committed offset of every partition before start; 0: none
		want      int64
	}{
		{name: "nothing committed", want: 1000},
		{name: "the group committed before", committed: 100, want: 600},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, 4)
			e.cfg.ShutdownTimeout = 2 * time.Second // Redis fails until the end
			e.produce(1000, 4)
			if tc.committed > 0 {
				offsets := make(kadm.Offsets)
				for p := int32(0); p < 4; p++ {
					offsets.Add(kadm.Offset{Topic: testTopic, Partition: p, At: tc.committed, LeaderEpoch: -1})
				}
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				if err := e.adm.CommitAllOffsets(ctx, e.cfg.Kafka.Group, offsets); err != nil {
					t.Fatalf("commit offsets: %v", err)
				}
			}
			e.redis.Down("LOADING Redis is loading the dataset in memory")
			reg := prometheus.NewRegistry()
			r := e.start(connector.WithRegisterer(reg))
			waitFor(t, "the member in the group", 10*time.Second, func() bool { return r.c.Snapshot().InGroup })
			deadline := time.Now().Add(3 * time.Second)
			for r.c.Snapshot().Lag != tc.want && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			s := r.c.Snapshot()
			if s.Lag != tc.want || len(s.PartitionLags[testTopic]) != 4 {
				t.Fatalf("lag 3s after assignment: got %d over %d partitions (%v), want %d over 4", s.Lag, len(s.PartitionLags[testTopic]), s.PartitionLags, tc.want)
			}
			for p, lag := range s.PartitionLags[testTopic] {
				m := consumerLagGauge(t, reg, testTopic, p)
				if int64(m) != lag || lag != tc.want/4 {
					t.Errorf("partition %d: got lag %d, krc_consumer_lag_records %v; want %d for both", p, lag, m, tc.want/4)
				}
			}
			if s.Commits != 0 {
				t.Errorf("commits: got %d, want 0 (the lag must not wait for one)", s.Commits)
			}
		})
	}
}

// consumerLagGauge reads krc_consumer_lag_records{topic, partition} from
// reg, as a scrape would.
func consumerLagGauge(t *testing.T, reg prometheus.Gatherer, topic string, partition int32) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("read krc_consumer_lag_records: %v", err)
	}
	want := map[string]string{"topic": topic, "partition": strconv.Itoa(int(partition))}
	for _, mf := range mfs {
		if mf.GetName() != "krc_consumer_lag_records" {
			continue
		}
		for _, m := range mf.GetMetric() {
			if labelsMatch(m, want) {
				return m.GetGauge().GetValue()
			}
		}
	}
	t.Fatalf("read krc_consumer_lag_records: no series for %v", want)
	return 0
}

func labelsMatch(m *dto.Metric, want map[string]string) bool {
	if len(m.GetLabel()) != len(want) {
		return false
	}
	for _, lp := range m.GetLabel() {
		if want[lp.GetName()] != lp.GetValue() {
			return false
		}
	}
	return true
}
