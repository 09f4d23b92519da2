// Package config loads, validates and renders the connector's configuration.
//
// Values come in three layers, later ones winning: Default(), an optional
// YAML file, then KRC_ environment variables. Load reports every problem it
// finds in one error (unknown keys, values of the wrong type, rule
// violations), each as a *FieldError naming the key and the offending value,
// so a single `validate` run lists everything to fix.
//
// Settings other packages branch on are typed here and checked by Validate,
// so they never compare strings: errors.policy is an ErrorPolicy
// (PolicyFail, PolicyDLQ, PolicySkip; Errors.EffectivePolicy resolves the
// empty one). It also owns what is derived from configuration values
// alone: the client TLS configuration of kafka.tls and redis.tls
// (TLS.ClientConfig) and the "ID=FILE" encryption key specs (ParseKeySpec,
// ValidKeyID). It imports no other package of the project, so every
// package may import it.
package config
