// Package loadgen produces test records to Kafka at a fixed rate and verifies
// them after they went through the connector: every record's value carries
// its run, (partition, sequence) and send time, so reading the target streams
// back tells what was lost, duplicated or reordered (package oracle) and how
// long each record took from the producer to Redis (recorded with the same
// histogram, package internal/latency, as the connector's own latency).
// The loadgen and bench commands share it.
package loadgen
