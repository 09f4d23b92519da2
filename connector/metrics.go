package connector

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the connector's Prometheus metrics (prefix krc_). They are
// built on an injected Registerer; nothing is registered globally.
type Metrics struct {
	RecordsConsumed     prometheus.Counter
	RecordsWritten      prometheus.Counter
	RecordsDeduplicated prometheus.Counter
	RecordsDeadLettered *prometheus.CounterVec
	RecordsDropped      prometheus.Counter
	BatchesFlushed      *prometheus.CounterVec
	BatchSize           prometheus.Histogram
	BatchingEfficiency  prometheus.Gauge
	FlushDuration       prometheus.Histogram
	EndToEndLatency     prometheus.Histogram
	BreakerState        prometheus.Gauge
	BreakerTrips        prometheus.Counter
	ConsumerLag         *prometheus.GaugeVec
	InflightBatches     prometheus.Gauge
	FetchPaused         prometheus.Gauge
	Commits             prometheus.Counter
	CommitErrors        prometheus.Counter
	DLQProduceErrors    prometheus.Counter
	// RecordsTombstones counts null-value records by stream.tombstones.
	RecordsTombstones *prometheus.CounterVec
	// ReplicaAckShortfalls counts writes fewer replicas than
	// redis.wait_replicas acknowledged.
	ReplicaAckShortfalls prometheus.Counter
	// EffectiveBatchSize and EffectiveMaxInFlight are the batch size and
	// the flushes in flight in effect now (adapted, or as configured).
	EffectiveBatchSize   prometheus.Gauge
	EffectiveBatchBytes  prometheus.Gauge
	EffectiveMaxInFlight prometheus.Gauge
}

// NewMetrics builds the metrics and registers them on reg (nil: not registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	const ns = "krc"
	m := &Metrics{
		RecordsConsumed: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "records_consumed_total",
			Help: "Records polled from Kafka."}),
		RecordsWritten: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "records_written_total",
			Help: "Records Redis acknowledged (XADD replied with an entry ID)."}),
		RecordsDeduplicated: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "records_deduplicated_total",
			Help: "Records found already in Redis and skipped (delivery.guarantee exactly_once); records_written_total includes them."}),
		RecordsDeadLettered: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "records_dead_lettered_total",
			Help: "Records that Redis can never accept, sent to the dead-letter topic or skipped, by reason."}, []string{"reason"}),
		RecordsDropped: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "records_dropped_total",
			Help: "Records lost by the connector. It never drops records: this must stay 0."}),
		BatchesFlushed: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "batches_flushed_total",
			Help: "Batches written to Redis, by why they were flushed (size, bytes, time, idle, rebalance, shutdown)."}, []string{"reason"}),
		BatchSize: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Name: "batch_size",
			Help:    "Records per flushed batch.",
			Buckets: []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000}}),
		BatchingEfficiency: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "batching_efficiency_ratio",
			Help: "Average batch size over batch.max_events, across all flushes so far (0..1)."}),
		FlushDuration: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Name: "flush_duration_seconds",
			Help:    "Time to write one batch to Redis, retries included.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 18)}),
		EndToEndLatency: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: ns, Name: "end_to_end_latency_seconds",
			Help:    "Kafka record timestamp to XADD acknowledged.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 18)}),
		BreakerState: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "circuit_breaker_state",
			Help: "Circuit breaker guarding Redis writes: 0 closed, 1 half-open, 2 open."}),
		BreakerTrips: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "circuit_breaker_trips_total",
			Help: "Times the circuit breaker opened."}),
		ConsumerLag: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "consumer_lag_records",
			Help: "High watermark minus committed offset, per assigned partition."}, []string{"topic", "partition"}),
		InflightBatches: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "inflight_batches",
			Help: "Batches being written to Redis now."}),
		FetchPaused: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "fetch_paused",
			Help: "1 while fetching from Kafka is paused because Redis writes fail (backpressure)."}),
		Commits: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "commits_total",
			Help: "Offset commits Kafka acknowledged."}),
		CommitErrors: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "commit_errors_total",
			Help: "Offset commits that failed (the offsets are committed again later)."}),
		DLQProduceErrors: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "dlq_produce_errors_total",
			Help: "Records whose produce to the dead-letter topic failed (each retry counts). Never counted toward the Redis breaker."}),
		RecordsTombstones: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "records_tombstones_total",
			Help: "Records with a null value, by what stream.tombstones did with them (skip, entry, delete)."}, []string{"action"}),
		ReplicaAckShortfalls: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Name: "replica_ack_shortfalls_total",
			Help: "Write attempts fewer replicas than redis.wait_replicas acknowledged within redis.wait_timeout (retried)."}),
		EffectiveBatchSize: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "effective_batch_size",
			Help: "Most records in one batch now: batch.max_events, or what the connector adapted it to when that is 0."}),
		EffectiveBatchBytes: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "effective_batch_bytes",
			Help: "Most bytes of records in one batch now: batch.max_bytes, or what the connector adapted it to when that is 0."}),
		EffectiveMaxInFlight: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Name: "effective_max_in_flight",
			Help: "Most flushes in flight now: batch.max_in_flight, or what the connector adapted it to when that is 0."}),
	}
	// Every label value exists from the start, so rate() and increase()
	// see the first event of each kind.
	for r := FlushReason(0); r < numFlushReasons; r++ {
		m.BatchesFlushed.WithLabelValues(r.String())
	}
	for _, reason := range poisonReasons {
		m.RecordsDeadLettered.WithLabelValues(reason)
	}
	for _, action := range []string{"skip", "entry", "delete"} {
		m.RecordsTombstones.WithLabelValues(action)
	}
	if reg != nil {
		reg.MustRegister(m.RecordsConsumed, m.RecordsWritten, m.RecordsDeduplicated, m.RecordsDeadLettered, m.RecordsDropped,
			m.BatchesFlushed, m.BatchSize, m.BatchingEfficiency, m.FlushDuration, m.EndToEndLatency,
			m.BreakerState, m.BreakerTrips, m.ConsumerLag, m.InflightBatches, m.FetchPaused,
			m.Commits, m.CommitErrors, m.DLQProduceErrors, m.RecordsTombstones, m.ReplicaAckShortfalls,
			m.EffectiveBatchSize, m.EffectiveBatchBytes, m.EffectiveMaxInFlight)
	}
	return m
}
