// Package bench measures the connector against the Redis sink's ceiling and
// a naive forwarder, on one Kafka backlog, in one process: events/s, MB/s,
// CPU per event, peak RSS and end-to-end latency, plus a latency run at a
// fixed low rate and a scaling table over partitions and value sizes. The
// bench command runs it; BENCHMARKS.md publishes its figures.
//
// Every latency figure, the connector's and each contender's, is recorded
// with the same histogram (package internal/latency), and every connector
// contender is built as the run command builds it (internal/service).
package bench
