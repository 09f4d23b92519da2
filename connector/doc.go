// Package connector is the pipeline between Kafka and Redis: a franz-go group
// consumer feeds a Batcher, full or timed-out batches go to a Writer (the
// Redis sink) through a retry and circuit breaker policy, and an
// OffsetTracker commits to Kafka only offsets whose records, and every
// earlier record of the same partition, are in Redis.
//
// One goroutine runs the loop (poll, batch, flush, commit); rebalance
// callbacks take the same lock, so partition state never changes under a
// flush. What the loop decides, it asks pure types with the clock as an
// argument: a laneSet (which batch goes next on each lane, retry times,
// pause and resume, backpressure) over one Batcher per lane, and the
// OffsetTracker. The Connector keeps the goroutines, the Kafka calls and
// the metrics.
//
// It also owns what errors.policy (config.ErrorPolicy) makes of a record
// Redis can never accept (triage.go): skip it, hand it to the dead-letter
// producer (dlq.go), or stop with a *RecordError naming it (errors.go holds
// the package's sentinels and error types); and the shutdown that flushes,
// commits and leaves the group within shutdown_timeout.
//
// It imports sink and config and never cmd; its end-to-end latency
// (Snapshot.Latency) is an internal/latency histogram.
package connector
