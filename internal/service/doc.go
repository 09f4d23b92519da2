// Package service is the one place the connector is wired: Build makes the
// Redis client and the stream writer (with the schema registry decoder and
// the encryption sealer the configuration asks for), the Kafka client
// options (TLS, SASL, client metrics), the connector with its metrics, and
// the HTTP endpoints; Check runs the start-up check (internal/preflight);
// Run serves and runs until the context ends. The run and demo commands and
// the benchmark's connector contenders all go through it, so what is
// demonstrated and measured is what runs in production.
//
// It owns the wiring only: flags and signals stay in cmd, the pipeline in
// connector, Redis I/O in sink.
package service
