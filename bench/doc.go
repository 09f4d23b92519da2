// Package bench measures the connector on one Kafka backlog against the
// ceiling (Redis taking the same entries, pre-encoded, as fast as it can),
// the go-redis pipeline sink and a naive forwarder: events/s, MB/s, CPU per
// event, peak RSS and end-to-end latency, plus a latency run at a fixed low
// rate, a scaling table over partitions and value sizes, and the axes
// tables (axes*.go: cost growth over partitions, value size, {key} fan-out,
// delivery guarantee and schema-registry formats, each row next to its own
// ceiling). The connector contenders run as the built binary in processes
// of their own, as deployed, so their CPU and RSS are the connector's
// alone. Guard is the regression guard of `make bench-quick`. The bench
// command runs it; BENCHMARKS.md publishes its figures.
//
// Every latency figure, the connector's and each contender's, is recorded
// with the same histogram (package internal/latency), and every connector
// contender is built as the run command builds it (internal/service).
package bench
