// Package sink turns Kafka records into Redis stream entries and appends them
// with one pipelined round trip per batch, inside MULTI/EXEC so that a failed
// write is retried whole and never reorders a partition.
//
// It owns the stream key template, the mapping of a record to entry fields
// (FieldMapping, given its sealer and payload decoders at construction),
// and the classification of Redis errors into retryable (the whole write
// may be tried again) and permanent (this one record can never be written);
// every sentinel is in errors.go. It knows nothing about offsets, retries
// or the circuit breaker: the connector decides what to do with a Result.
//
// A Write goes out on one of two transports, around the same steps (each
// record's stream key and entry ID, the replies to the transaction;
// writesteps.go): to a standalone Redis the Writer's own connections carry
// RESP it encodes itself (direct.go; the wire format, resp.go), else go-redis pipelines do
// (pipeline.go, tx.go). Exactly-once writes run a script instead (eos.go);
// replica acknowledgements (WAIT) are replicas.go.
//
// It owns Redis stream I/O for the whole project: the client (NewClient),
// the writes, and the reader (ReadStream, ReadStreamRange) with which the
// decrypt command, the demo, the load generator and the tests read entries
// back. It imports config and internal/schemaregistry, never connector.
package sink
