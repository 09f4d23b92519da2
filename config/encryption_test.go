package config

import (
	"reflect"
	"testing"
)

func encrypted(c *Config) {
	c.Encryption = Encryption{Enabled: true, KeyID: "k2", Keys: []string{"k1=/keys/k1", "k2=/keys/k2"},
		Headers: []string{}, KeyIDField: "enc_key_id"}
}

func TestEncryptionAccepts(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
	}{
		{"off with keys for readers", func(c *Config) { c.Encryption.Keys = []string{"old=/k"} }},
		{"on", encrypted},
		{"on with headers", func(c *Config) {
			encrypted(c)
			c.Stream.HeadersPrefix = "h."
			c.Encryption.Headers = []string{"token", "ssn"}
		}},
		{"key in template is not a header", func(c *Config) {
			encrypted(c)
			c.Stream.Key = "{topic}:{header:tenant}"
			c.Stream.HeadersPrefix = "h."
			c.Encryption.Headers = []string{"token"}
		}},
		{"key id field renamed", func(c *Config) { encrypted(c); c.Encryption.KeyIDField = "kid" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.mutate(&c)
			if err := c.Validate(); err != nil {
				t.Errorf("got %v, want nil", err)
			}
		})
	}
}

func TestEncryptionRejects(t *testing.T) {
	tests := []struct {
		name              string
		mutate            func(*Config)
		key, value, match string
	}{
		{"key spec without file", func(c *Config) { c.Encryption.Keys = []string{"k1"} }, "encryption.keys", "k1", "must be ID=FILE"},
		{"key spec with bad id", func(c *Config) { c.Encryption.Keys = []string{"k 1=/f"} }, "encryption.keys", `"k 1=/f"`, "must be ID=FILE"},
		{"key id twice", func(c *Config) { c.Encryption.Keys = []string{"k=/a", "k=/b"} }, "encryption.keys", "k=/b", "listed twice"},
		{"enabled without key id", func(c *Config) { encrypted(c); c.Encryption.KeyID = "" }, "encryption.key_id", `""`, "must name the key"},
		{"key id not in keys", func(c *Config) { encrypted(c); c.Encryption.KeyID = "k3" }, "encryption.key_id", "k3", "one of the ids in encryption.keys"},
		{"json format", func(c *Config) { encrypted(c); c.Stream.Format = "json" }, "stream.format", "json", "must be raw when encryption.enabled"},
		{"no key id field", func(c *Config) { encrypted(c); c.Encryption.KeyIDField = "" }, "encryption.key_id_field", `""`, "must not be empty"},
		{"key id field is the value field", func(c *Config) { encrypted(c); c.Encryption.KeyIDField = "value" }, "encryption.key_id_field", "value", "already used by stream.value_field"},
		{"key id field is metadata", func(c *Config) { encrypted(c); c.Encryption.KeyIDField = "offset" }, "encryption.key_id_field", "offset", "already used by stream.metadata"},
		{"headers prefix shadows key id field", func(c *Config) { encrypted(c); c.Stream.HeadersPrefix = "enc_" }, "stream.headers_prefix", "enc_", "prefix of field enc_key_id"},
		{"headers without prefix", func(c *Config) { encrypted(c); c.Encryption.Headers = []string{"token"} }, "encryption.headers", "[token]", "stream.headers_prefix"},
		{"empty header", func(c *Config) {
			encrypted(c)
			c.Stream.HeadersPrefix = "h."
			c.Encryption.Headers = []string{""}
		}, "encryption.headers", `""`, "must not be empty"},
		{"header twice", func(c *Config) {
			encrypted(c)
			c.Stream.HeadersPrefix = "h."
			c.Encryption.Headers = []string{"a", "a"}
		}, "encryption.headers", "a", "listed twice"},
		{"sealed header in stream key", func(c *Config) {
			encrypted(c)
			c.Stream.Key = "t:{header:tenant}"
			c.Stream.HeadersPrefix = "h."
			c.Encryption.Headers = []string{"tenant"}
		}, "encryption.headers", "tenant", "plaintext in the stream key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.mutate(&c)
			err := c.Validate()
			if err == nil {
				t.Fatal("got nil error, want one")
			}
			wantProblem(t, err, tt.key, tt.value, tt.match)
		})
	}
}

func TestEncryptionFromEnvironment(t *testing.T) {
	got, err := Load("", []string{
		"KRC_ENCRYPTION_ENABLED=true",
		"KRC_ENCRYPTION_KEY_ID=2025-07",
		"KRC_ENCRYPTION_KEYS=2025-01=/run/secrets/k1, 2025-07=/run/secrets/k2",
		"KRC_STREAM_HEADERS_PREFIX=h.",
		"KRC_ENCRYPTION_HEADERS=token,ssn",
	})
	if err != nil {
		t.Fatalf("got %v, want nil", err)
	}
	want := Encryption{Enabled: true, KeyID: "2025-07", Keys: []string{"2025-01=/run/secrets/k1", "2025-07=/run/secrets/k2"},
		Headers: []string{"token", "ssn"}, KeyIDField: "enc_key_id"}
	if !reflect.DeepEqual(got.Encryption, want) {
		t.Errorf("got %+v, want %+v", got.Encryption, want)
	}
	if files := got.Encryption.KeyFiles(); files["2025-01"] != "/run/secrets/k1" || len(files) != 2 {
		t.Errorf("got key files %v, want both", files)
	}
	if fields := got.Encryption.SealedFields(got.Stream); !reflect.DeepEqual(fields, []string{"value", "h.token", "h.ssn"}) {
		t.Errorf("got sealed fields %v, want [value h.token h.ssn]", fields)
	}
}

func TestEncryptionFromYAML(t *testing.T) {
	path := writeFile(t, `
encryption:
  enabled: true
  key_id: b
  keys: [a=/k/a, b=/k/b]
`)
	got, err := Load(path, nil)
	if err != nil {
		t.Fatalf("got %v, want nil", err)
	}
	if got.Encryption.KeyID != "b" || len(got.Encryption.Keys) != 2 || got.Encryption.KeyIDField != "enc_key_id" {
		t.Errorf("got %+v", got.Encryption)
	}
}

func TestRedactedCopiesEncryptionLists(t *testing.T) {
	c := Default()
	encrypted(&c)
	r := c.Redacted()
	r.Encryption.Keys[0] = "changed=/x"
	if c.Encryption.Keys[0] != "k1=/keys/k1" {
		t.Errorf("Redacted shares encryption.keys with the original")
	}
}
