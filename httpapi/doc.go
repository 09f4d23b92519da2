// Package httpapi serves the connector's operational endpoints: /metrics
// (Prometheus), /healthz (the process is alive), /readyz (in the group,
// Redis reachable, breaker not open, dead-letter produce not failing) and
// /stats (a JSON summary, the
// counterpart of the seed's dashboard metrics).
//
// It only reads: the connector's Snapshot, a Redis ping and a metrics
// Gatherer; nothing in the pipeline depends on it.
package httpapi
