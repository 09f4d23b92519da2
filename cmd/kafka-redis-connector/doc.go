// Command kafka-redis-connector reads Kafka topics as a consumer group and
// appends the records to Redis streams. See README.md.
//
// This package is the CLI only: flags, signals, wiring and exit codes (0
// ok, 1 runtime failure, 2 bad configuration or usage) for run, demo,
// validate, version, loadgen, bench, decrypt, dry-run and offsets. run and
// demo build the service with internal/service (which also runs the
// start-up check, internal/preflight); the work is done by the packages it
// wires: connector, sink, config, httpapi, encryption, loadgen, bench and
// oracle (the demo's delivery check). Nothing imports it.
package main
