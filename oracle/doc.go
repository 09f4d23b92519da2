// Package oracle verifies a delivery after the fact: every produced record
// carries a unique (partition, sequence); reading the target streams back,
// the Checker reports what was lost, duplicated or reordered. The demo, the
// load generator, the benchmark and the integration suite share it.
//
// It owns only the Checker and its Report and does no I/O: callers read
// the streams (sink.ReadStream) and hand each entry to Observe.
package oracle
