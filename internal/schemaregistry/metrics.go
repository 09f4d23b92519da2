package schemaregistry

import "github.com/prometheus/client_golang/prometheus"

// Metrics counts the registry's requests and the schema cache's use.
type Metrics struct {
	Requests      prometheus.Counter
	Errors        *prometheus.CounterVec
	CacheHits     prometheus.Counter
	CacheMisses   prometheus.Counter
	CachedSchemas prometheus.Gauge
}

// NewMetrics builds the metrics and registers them with reg (nil: not
// registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Requests: prometheus.NewCounter(prometheus.CounterOpts{Name: "krc_schema_registry_requests_total",
			Help: "HTTP requests sent to the schema registry (schemas and their references)."}),
		Errors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "krc_schema_registry_errors_total",
			Help: "Schema fetches that failed, by kind: unavailable (retried), not_found, invalid_schema."}, []string{"kind"}),
		CacheHits: prometheus.NewCounter(prometheus.CounterOpts{Name: "krc_schema_registry_cache_hits_total",
			Help: "Records whose schema was in the cache."}),
		CacheMisses: prometheus.NewCounter(prometheus.CounterOpts{Name: "krc_schema_registry_cache_misses_total",
			Help: "Records whose schema had to be fetched (one fetch serves concurrent misses of one id)."}),
		CachedSchemas: prometheus.NewGauge(prometheus.GaugeOpts{Name: "krc_schema_registry_cached_schemas",
			Help: "Schemas (and permanent failures) held in the cache, at most schema_registry.cache_size."}),
	}
	for _, k := range []string{errUnavailable, errNotFound, errInvalidSchema} {
		m.Errors.WithLabelValues(k)
	}
	if reg != nil {
		reg.MustRegister(m.Requests, m.Errors, m.CacheHits, m.CacheMisses, m.CachedSchemas)
	}
	return m
}

// Kinds of the errors metric.
const (
	errUnavailable   = "unavailable"
	errNotFound      = "not_found"
	errInvalidSchema = "invalid_schema"
)
