package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kafka-redis-connector/kafka-redis-connector/connector"
	"github.com/kafka-redis-connector/kafka-redis-connector/httpapi"
)

type fixedSource struct{ s connector.Snapshot }

func (f *fixedSource) Snapshot() connector.Snapshot {
	s := f.s
	s.At = time.Now()
	return s
}

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Code, rec.Body.String()
}

func TestReadyz(t *testing.T) {
	ok := func(context.Context) error { return nil }
	down := func(context.Context) error { return errors.New("connection refused") }
	for _, tc := range []struct {
		name     string
		snap     connector.Snapshot
		ping     httpapi.Pinger
		wantCode int
		wantBody string
	}{
		{"ready", connector.Snapshot{InGroup: true}, ok, 200, "ready"},
		{"not in group", connector.Snapshot{}, ok, 503, "not in the consumer group"},
		{"breaker open", connector.Snapshot{InGroup: true, BreakerState: connector.BreakerOpen}, ok, 503, "circuit breaker open"},
		{"half-open is ready", connector.Snapshot{InGroup: true, BreakerState: connector.BreakerHalfOpen}, ok, 200, "ready"},
		{"redis unreachable", connector.Snapshot{InGroup: true}, down, 503, "redis unreachable: connection refused"},
		{"dead-letter produce failing", connector.Snapshot{InGroup: true, DLQFailing: true}, ok, 503, "dead-letter topic produce failing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := httpapi.NewHandler(&fixedSource{tc.snap}, tc.ping, prometheus.NewRegistry())
			code, body := get(t, h, "/readyz")
			if code != tc.wantCode || !strings.Contains(body, tc.wantBody) {
				t.Errorf("got %d %q, want %d containing %q", code, body, tc.wantCode, tc.wantBody)
			}
		})
	}
}

func TestStatsDocument(t *testing.T) {
	src := &fixedSource{connector.Snapshot{Consumed: 1000, Written: 900, Batches: 30, BatchRecords: 900,
		MaxEvents: 50, MaxInFlight: 3, MaxBytes: 4096, BreakerState: connector.BreakerOpen, BreakerTrips: 2, DeadLettered: 3, Lag: 42,
		Guarantee: "exactly_once", Deduplicated: 7}}
	h := httpapi.NewHandler(src, func(context.Context) error { return nil }, prometheus.NewRegistry())
	code, body := get(t, h, "/stats")
	if code != 200 {
		t.Fatalf("got status %d, want 200", code)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatalf("stats is not JSON: %v\n%s", err, body)
	}
	for _, path := range []string{"throughput.events_per_second", "batching.efficiency", "batching.avg_batch_size",
		"latency.avg_ms", "latency.p95_ms", "latency.p99_ms", "circuit_breaker.state", "circuit_breaker.trips",
		"drops.rate", "dlq.count", "lag", "delivery.guarantee", "delivery.deduplicated",
		"batching.effective_max_events", "batching.effective_max_in_flight", "batching.effective_max_bytes"} {
		var v any = doc
		for _, k := range strings.Split(path, ".") {
			m, _ := v.(map[string]any)
			v = m[k]
		}
		if v == nil {
			t.Errorf("stats field %s: missing in %s", path, body)
		}
	}
	var st httpapi.Stats
	_ = json.Unmarshal([]byte(body), &st)
	if st.Batching.Efficiency != 60 || st.Batching.AvgBatchSize != 30 || st.CircuitBreaker.State != "OPEN" ||
		st.CircuitBreaker.Trips != 2 || st.DLQ.Count != 3 || st.Lag != 42 ||
		st.Delivery.Guarantee != "exactly_once" || st.Delivery.Deduplicated != 7 ||
		st.Batching.EffectiveMaxEvents != 50 || st.Batching.EffectiveMaxInFlight != 3 || st.Batching.EffectiveMaxBytes != 4096 {
		t.Errorf("got %+v, want efficiency 60, avg batch 30, OPEN, 2 trips, dlq 3, lag 42, exactly_once, 7 deduplicated, "+
			"effective max events 50, max in flight 3, max bytes 4096", st)
	}
}

func TestMetricsEndpointListsConnectorMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := connector.NewMetrics(reg)
	m.RecordsDeadLettered.WithLabelValues("invalid_json").Inc()
	m.ConsumerLag.WithLabelValues("events", "0").Set(3)
	h := httpapi.NewHandler(&fixedSource{}, func(context.Context) error { return nil }, reg)
	_, body := get(t, h, "/metrics")
	for _, name := range []string{"records_consumed_total", "records_written_total", "records_dead_lettered_total",
		"records_dropped_total", "batches_flushed_total", "batch_size", "batching_efficiency_ratio",
		"flush_duration_seconds", "end_to_end_latency_seconds", "circuit_breaker_state",
		"circuit_breaker_trips_total", "consumer_lag_records", "inflight_batches", "fetch_paused",
		"commits_total", "commit_errors_total", "dlq_produce_errors_total", "effective_batch_size", "effective_batch_bytes",
		"effective_max_in_flight"} {
		if !strings.Contains(body, "# TYPE krc_"+name+" ") {
			t.Errorf("/metrics lacks krc_%s", name)
		}
	}
}
