// Package loadgen produces test records to Kafka at a fixed rate and verifies
// them after they went through the connector: every record's value carries
// its run, (partition, sequence) and send time, so reading the target streams
// back tells what was lost, duplicated or reordered (package oracle) and how
// long each record took from the producer to Redis (an HDR-style Histogram).
// The loadgen and bench commands share it.
package loadgen
