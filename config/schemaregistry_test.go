package config

import (
	"testing"
	"time"
)

func TestSchemaRegistryValidateRejects(t *testing.T) {
	withURL := func(c *Config) { c.SchemaRegistry.URL = "http://127.0.0.1:8081/apis/ccompat/v7" }
	tests := []struct {
		name   string
		mutate func(*Config)
		key    string
		value  string
		match  string
	}{
		{"avro without url", func(c *Config) { c.Stream.Format = "avro" }, "schema_registry.url", `""`, "must be set when stream.format"},
		{"key format without url", func(c *Config) { c.Stream.KeyFormat = "protobuf" }, "schema_registry.url", `""`, "must be set when"},
		{"key format json", func(c *Config) { c.Stream.KeyFormat = "json" }, "stream.key_format", "json", "must be one of raw, avro, protobuf, json_schema"},
		{"url scheme", func(c *Config) { c.SchemaRegistry.URL = "127.0.0.1:8081" }, "schema_registry.url", "127.0.0.1:8081", "must be an http:// or https:// URL"},
		{"username without password file", func(c *Config) { withURL(c); c.SchemaRegistry.Username = "u" }, "schema_registry.password_file", `""`, "must be set when schema_registry.username is"},
		{"password file without username", func(c *Config) { withURL(c); c.SchemaRegistry.PasswordFile = "/p" }, "schema_registry.username", `""`, "must be set when"},
		{"basic and bearer", func(c *Config) {
			withURL(c)
			c.SchemaRegistry.Username, c.SchemaRegistry.PasswordFile, c.SchemaRegistry.TokenFile = "u", "/p", "/t"
		}, "schema_registry.token_file", "/t", "use basic auth or a bearer token"},
		{"tls key without cert", func(c *Config) { c.SchemaRegistry.TLS.KeyFile = "/k" }, "schema_registry.tls.cert_file", `""`, "must be set when schema_registry.tls.key_file is"},
		{"timeout", func(c *Config) { c.SchemaRegistry.Timeout = 0 }, "schema_registry.timeout", "0s", "must be greater than 0"},
		{"cache size", func(c *Config) { c.SchemaRegistry.CacheSize = 0 }, "schema_registry.cache_size", "0", "must be at least 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.mutate(&c)
			wantProblem(t, c.Validate(), tt.key, tt.value, tt.match)
		})
	}
}

func TestSchemaRegistryFromEnvironment(t *testing.T) {
	c, err := Load("", []string{
		"KRC_STREAM_FORMAT=avro",
		"KRC_STREAM_KEY_FORMAT=json_schema",
		"KRC_SCHEMA_REGISTRY_URL=https://sr.example:8081/apis/ccompat/v7",
		"KRC_SCHEMA_REGISTRY_TOKEN_FILE=/run/secrets/sr-token",
		"KRC_SCHEMA_REGISTRY_TLS_CA_FILE=/etc/ca.pem",
		"KRC_SCHEMA_REGISTRY_TIMEOUT=2s",
		"KRC_SCHEMA_REGISTRY_CACHE_SIZE=50",
	})
	if err != nil {
		t.Fatalf("got %v, want no error", err)
	}
	got := c.SchemaRegistry
	want := SchemaRegistry{URL: "https://sr.example:8081/apis/ccompat/v7", TokenFile: "/run/secrets/sr-token",
		TLS: TLS{CAFile: "/etc/ca.pem"}, Timeout: 2 * time.Second, CacheSize: 50}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if c.Stream.Format != "avro" || c.Stream.KeyFormat != "json_schema" {
		t.Errorf("got formats %q/%q, want avro/json_schema", c.Stream.Format, c.Stream.KeyFormat)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("got %v, want a valid configuration", err)
	}
}

func TestSchemaRegistryDefaults(t *testing.T) {
	got := Default().SchemaRegistry
	if got.Timeout != 5*time.Second || got.CacheSize != 1000 || got.URL != "" {
		t.Errorf("got %+v, want timeout 5s, cache_size 1000, no url", got)
	}
	if Default().Stream.KeyFormat != "raw" {
		t.Errorf("got key_format %q, want raw", Default().Stream.KeyFormat)
	}
}
