// Package sink turns Kafka records into Redis stream entries and appends them
// with one pipelined round trip per batch, inside MULTI/EXEC so that a failed
// write is retried whole and never reorders a partition.
//
// It owns the stream key template, the mapping of a record to entry fields,
// and the classification of Redis errors into retryable (the whole write may
// be tried again) and permanent (this one record can never be written). It
// knows nothing about offsets, retries or the circuit breaker: the connector
// decides what to do with a Result.
//
// It owns Redis stream I/O for the whole project: the client (NewClient),
// the writes, and the reader (ReadStream, ReadStreamRange) with which the
// decrypt command, the demo, the load generator and the tests read entries
// back. It imports config, never connector.
package sink
