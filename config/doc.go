// Package config loads, validates and renders the connector's configuration.
//
// Values come in three layers, later ones winning: Default(), an optional
// YAML file, then KRC_ environment variables. Load reports every problem it
// finds in one error (unknown keys, values of the wrong type, rule
// violations), each as a *FieldError naming the key and the offending value,
// so a single `validate` run lists everything to fix.
package config
