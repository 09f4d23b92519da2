package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kafka-redis-connector/kafka-redis-connector/connector"
)

// SnapshotSource gives the connector's counters.
type SnapshotSource interface {
	Snapshot() connector.Snapshot
}

// Pinger checks that Redis answers.
type Pinger func(ctx context.Context) error

// Handler serves the endpoints.
type Handler struct {
	mux  *http.ServeMux
	src  SnapshotSource
	ping Pinger
	rate *RateWindow
}

// NewHandler builds the endpoints over src, ping and the metrics in g.
func NewHandler(src SnapshotSource, ping Pinger, g prometheus.Gatherer) *Handler {
	h := &Handler{mux: http.NewServeMux(), src: src, ping: ping, rate: NewRateWindow(src, 10*time.Second)}
	h.mux.Handle("/metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{}))
	h.mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	h.mux.HandleFunc("/readyz", h.ready)
	h.mux.HandleFunc("/stats", h.stats)
	return h
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

func (h *Handler) ready(w http.ResponseWriter, r *http.Request) {
	s := h.src.Snapshot()
	var reason string
	switch {
	case !s.InGroup:
		reason = "not in the consumer group yet"
	case s.BreakerState == connector.BreakerOpen:
		reason = "circuit breaker open: redis writes are failing"
	case s.DLQFailing:
		reason = "dead-letter topic produce failing: records Redis cannot accept are being retried, their partitions are not committed past them"
	default:
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := h.ping(ctx); err != nil {
			reason = "redis unreachable: " + err.Error()
		}
	}
	if reason != "" {
		http.Error(w, "not ready: "+reason, http.StatusServiceUnavailable)
		return
	}
	_, _ = w.Write([]byte("ready\n"))
}

// Stats is the /stats document.
type Stats struct {
	Throughput struct {
		EventsPerSecond float64 `json:"events_per_second"`
		Consumed        uint64  `json:"consumed"`
		Written         uint64  `json:"written"`
	} `json:"throughput"`
	Batching struct {
		Efficiency   float64 `json:"efficiency"`
		AvgBatchSize float64 `json:"avg_batch_size"`
		Batches      uint64  `json:"batches"`
		// The batch size and flushes in flight in effect now: as
		// configured, or adapted when batch.max_events/max_in_flight is 0.
		EffectiveMaxEvents   int `json:"effective_max_events"`
		EffectiveMaxBytes    int `json:"effective_max_bytes"`
		EffectiveMaxInFlight int `json:"effective_max_in_flight"`
	} `json:"batching"`
	Latency struct {
		AvgMs float64 `json:"avg_ms"`
		P50Ms float64 `json:"p50_ms"`
		P95Ms float64 `json:"p95_ms"`
		P99Ms float64 `json:"p99_ms"`
	} `json:"latency"`
	CircuitBreaker struct {
		State string `json:"state"`
		Trips uint64 `json:"trips"`
	} `json:"circuit_breaker"`
	Drops struct {
		Rate  float64 `json:"rate"`
		Count uint64  `json:"count"`
	} `json:"drops"`
	DLQ struct {
		Count         uint64 `json:"count"`
		ProduceErrors uint64 `json:"produce_errors"`
		Failing       bool   `json:"failing"`
	} `json:"dlq"`
	Lag         int64                      `json:"lag"`
	Partitions  map[string]map[int32]int64 `json:"lag_by_partition"`
	FetchPaused bool                       `json:"fetch_paused"`
	Delivery    struct {
		Guarantee    string `json:"guarantee"`
		Deduplicated uint64 `json:"deduplicated"`
	} `json:"delivery"`
}

// StatsFrom computes the /stats document from two snapshots: rates and
// percentiles cover the time between them, totals are cumulative.
func StatsFrom(prev, cur connector.Snapshot) Stats {
	var st Stats
	window := cur.Latency.Sub(prev.Latency)
	if secs := cur.At.Sub(prev.At).Seconds(); secs > 0 {
		st.Throughput.EventsPerSecond = float64(cur.Written-prev.Written) / secs
	}
	st.Throughput.Consumed, st.Throughput.Written = cur.Consumed, cur.Written
	st.Batching.Efficiency = cur.Efficiency() * 100
	st.Batching.AvgBatchSize = cur.AvgBatchSize()
	st.Batching.Batches = cur.Batches
	st.Batching.EffectiveMaxEvents, st.Batching.EffectiveMaxInFlight = cur.MaxEvents, cur.MaxInFlight
	st.Batching.EffectiveMaxBytes = cur.MaxBytes
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	st.Latency.AvgMs = ms(window.Mean())
	st.Latency.P50Ms = ms(window.Quantile(0.50))
	st.Latency.P95Ms = ms(window.Quantile(0.95))
	st.Latency.P99Ms = ms(window.Quantile(0.99))
	st.CircuitBreaker.State = cur.BreakerState.String()
	st.CircuitBreaker.Trips = cur.BreakerTrips
	st.Drops.Count = cur.Dropped
	if cur.Consumed > 0 {
		st.Drops.Rate = float64(cur.Dropped) / float64(cur.Consumed)
	}
	st.DLQ.Count = cur.DeadLettered
	st.DLQ.ProduceErrors, st.DLQ.Failing = cur.DLQProduceErrors, cur.DLQFailing
	st.Lag = cur.Lag
	st.Partitions = cur.PartitionLags
	st.FetchPaused = cur.FetchPaused
	st.Delivery.Guarantee, st.Delivery.Deduplicated = cur.Guarantee, cur.Deduplicated
	return st
}

func (h *Handler) stats(w http.ResponseWriter, _ *http.Request) {
	prev, cur := h.rate.Window()
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(StatsFrom(prev, cur))
}

// RateWindow keeps an older snapshot so rates cover a recent window of
// roughly the given span rather than the whole run.
type RateWindow struct {
	src  SnapshotSource
	span time.Duration

	mu    sync.Mutex
	older connector.Snapshot
}

// NewRateWindow starts a window over src.
func NewRateWindow(src SnapshotSource, span time.Duration) *RateWindow {
	return &RateWindow{src: src, span: span, older: src.Snapshot()}
}

// Window returns the snapshot that starts the current window and a fresh one.
func (rw *RateWindow) Window() (prev, cur connector.Snapshot) {
	cur = rw.src.Snapshot()
	rw.mu.Lock()
	defer rw.mu.Unlock()
	prev = rw.older
	if cur.At.Sub(rw.older.At) >= rw.span {
		rw.older = cur
	}
	return prev, cur
}
