package connector_test

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kafka-redis-connector/kafka-redis-connector/connector"
)

// TestComponentAdaptiveLimits: with no batch settings, draining a backlog
// grows the batch size and the flushes in flight (the gauges and the
// snapshot say so), an outage shrinks them back to the smallest, and
// nothing is lost or reordered on the way.
func TestComponentAdaptiveLimits(t *testing.T) {
	e := newEnv(t, 4)
	if e.cfg.Batch.MaxEvents != 0 || e.cfg.Batch.MaxInFlight != 0 {
		t.Fatalf("defaults: got max_events=%d max_in_flight=%d, want 0 and 0 (adaptive)",
			e.cfg.Batch.MaxEvents, e.cfg.Batch.MaxInFlight)
	}
	e.produce(40000, 4)
	reg := prometheus.NewRegistry()
	r := e.start(connector.WithRegisterer(reg))
	gauges := func() (int, int) {
		g := func(name string) int {
			mfs, err := reg.Gather()
			if err != nil {
				t.Fatalf("gather: %v", err)
			}
			for _, mf := range mfs {
				if mf.GetName() == name {
					return int(mf.GetMetric()[0].GetGauge().GetValue())
				}
			}
			t.Fatalf("metric %s not registered", name)
			return 0
		}
		return g("krc_effective_batch_size"), g("krc_effective_max_in_flight")
	}
	if ev, inf := gauges(); ev != connector.AdaptiveStartEvents || inf != 1 {
		t.Errorf("at start: got gauges batch_size=%d max_in_flight=%d, want %d and 1", ev, inf, connector.AdaptiveStartEvents)
	}
	peakEvents, peakInflight := 0, 0
	waitFor(t, "the backlog to drain", 60*time.Second, func() bool {
		s := r.c.Snapshot()
		peakEvents, peakInflight = max(peakEvents, s.MaxEvents), max(peakInflight, s.MaxInFlight)
		return s.Written >= 40000
	})
	if peakEvents <= connector.AdaptiveStartEvents || peakInflight <= 1 {
		t.Errorf("draining 40,000 records: got peak batch size %d, peak in flight %d, want above %d and above 1",
			peakEvents, peakInflight, connector.AdaptiveStartEvents)
	}
	s := r.c.Snapshot()
	t.Logf("draining: peak batch size %d, peak flushes in flight %d; after it %d and %d", peakEvents, peakInflight, s.MaxEvents, s.MaxInFlight)
	if ev, inf := gauges(); ev != s.MaxEvents || inf != s.MaxInFlight {
		t.Errorf("gauges batch_size=%d max_in_flight=%d, snapshot %d and %d: want the same", ev, inf, s.MaxEvents, s.MaxInFlight)
	}

	e.redis.Down("LOADING Redis is loading the dataset in memory")
	go e.produce(2000, 4)
	waitFor(t, "the outage to shrink the limits to the smallest", 30*time.Second, func() bool {
		s := r.c.Snapshot()
		return s.MaxEvents == connector.AdaptiveMinEvents && s.MaxInFlight == 1
	})
	e.redis.Up()
	e.waitEntries(42000, 30*time.Second)
	r.shutdown(t)
	rep := e.verify()
	if rep.Entries != 42000 {
		t.Errorf("got %d entries, want 42000", rep.Entries)
	}
	e.checkCommitsCovered(e.committed())
}
