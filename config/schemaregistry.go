package config

import (
	"net/url"
	"slices"
	"time"
)

// SchemaRegistry configures the Confluent-compatible Schema Registry that
// stream.format and stream.key_format avro, protobuf and json_schema fetch
// their schemas from (see package internal/schemaregistry).
type SchemaRegistry struct {
	// URL is the base URL of the Confluent API, for Apicurio Registry the
	// one ending in /apis/ccompat/v7.
	URL string `koanf:"url"`
	// Username with PasswordFile sends HTTP basic auth.
	Username     string `koanf:"username"`
	PasswordFile string `koanf:"password_file"`
	// TokenFile holds a bearer token, read once at start-up.
	TokenFile string `koanf:"token_file"`
	TLS       TLS    `koanf:"tls"`
	// Timeout bounds one request to the registry.
	Timeout time.Duration `koanf:"timeout"`
	// CacheSize bounds the schemas kept by id; a record whose schema is
	// cached needs no request, so it keeps flowing while the registry is
	// down.
	CacheSize int `koanf:"cache_size"`
}

// Formats of stream.format and stream.key_format.
var (
	// valueFormats are the formats stream.format accepts.
	valueFormats = []string{"raw", "json", "avro", "protobuf", "json_schema"}
	// schemaFormats are the formats that need schema_registry.url.
	schemaFormats = []string{"avro", "protobuf", "json_schema"}
)

// UsesSchemaRegistry reports whether the value or the key format of s
// decodes through the schema registry.
func (s Stream) UsesSchemaRegistry() bool {
	return slices.Contains(schemaFormats, s.Format) || slices.Contains(schemaFormats, s.KeyFormat)
}

func defaultSchemaRegistry() SchemaRegistry {
	return SchemaRegistry{Timeout: 5 * time.Second, CacheSize: 1000}
}

func (r SchemaRegistry) check(p *problemList, s Stream) {
	if r.URL != "" {
		u, err := url.Parse(r.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			p.add("schema_registry.url", r.URL, "must be an http:// or https:// URL")
		}
	}
	if s.UsesSchemaRegistry() && r.URL == "" {
		p.add("schema_registry.url", r.URL, "must be set when stream.format or stream.key_format is avro, protobuf or json_schema")
	}
	if r.Username != "" && r.PasswordFile == "" {
		p.add("schema_registry.password_file", r.PasswordFile, "must be set when schema_registry.username is")
	}
	if r.PasswordFile != "" && r.Username == "" {
		p.add("schema_registry.username", r.Username, "must be set when schema_registry.password_file is")
	}
	if r.TokenFile != "" && r.Username != "" {
		p.add("schema_registry.token_file", r.TokenFile, "set together with schema_registry.username; use basic auth or a bearer token")
	}
	r.TLS.check(p, "schema_registry.tls")
	p.positive("schema_registry.timeout", r.Timeout)
	p.atLeast("schema_registry.cache_size", int64(r.CacheSize), 1)
}

// checkFormats validates stream.format and stream.key_format.
func (s Stream) checkFormats(p *problemList) {
	p.oneOf("stream.format", s.Format, valueFormats...)
	p.oneOf("stream.key_format", s.KeyFormat, "raw", "avro", "protobuf", "json_schema")
}
