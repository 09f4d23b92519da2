// Package preflight is the start-up check the run and demo commands make
// before the pipeline starts: one Redis PING and one Kafka metadata request
// with the configured TLS and credentials. A definite rejection (bad
// credentials, an unknown CA, a name mismatch, a plaintext client to a TLS
// port) is an error naming the endpoint and the cause, so the process exits
// at once instead of retrying in a loop; an endpoint that merely does not
// answer yet is only logged, since the connector rides out outages.
//
// It owns the TLS probing and the diagnosis of connection errors, nothing
// else; it imports config only.
package preflight
