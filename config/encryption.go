package config

import (
	"slices"
	"strings"
)

// Encryption configures payload encryption: the value field, and the
// headers named, are sealed with AES-256-GCM before they are written (see
// package encryption and docs/SECURITY.md).
type Encryption struct {
	Enabled bool `koanf:"enabled"`
	// KeyID names the key, among Keys, that seals new entries.
	KeyID string `koanf:"key_id"`
	// Keys lists "ID=FILE" pairs. The connector uses only KeyID's; the
	// others are for readers (the decrypt command) while entries sealed
	// with them remain.
	Keys []string `koanf:"keys"`
	// Headers names the Kafka headers whose values are sealed too; they
	// are stored only with stream.headers_prefix set.
	Headers []string `koanf:"headers"`
	// KeyIDField is the entry field that names the key an entry was
	// sealed with.
	KeyIDField string `koanf:"key_id_field"`
}

func defaultEncryption() Encryption {
	return Encryption{Keys: []string{}, Headers: []string{}, KeyIDField: "enc_key_id"}
}

// KeyFiles returns the key files of Keys by id; malformed entries are
// skipped (Validate reports them).
func (e Encryption) KeyFiles() map[string]string {
	files := map[string]string{}
	for _, spec := range e.Keys {
		if id, file, err := ParseKeySpec(spec); err == nil {
			files[id] = file
		}
	}
	return files
}

// SealedFields returns the entry fields that hold sealed values under
// stream: the value field, then headers_prefix + each header.
func (e Encryption) SealedFields(s Stream) []string {
	fields := []string{s.ValueField}
	if s.HeadersPrefix != "" {
		for _, h := range e.Headers {
			fields = append(fields, s.HeadersPrefix+h)
		}
	}
	return fields
}

func (e Encryption) check(p *problemList, s Stream) {
	ids := map[string]bool{}
	for _, spec := range e.Keys {
		id, _, err := ParseKeySpec(spec)
		switch {
		case err != nil:
			p.add("encryption.keys", spec, "must be ID=FILE with an id of 1 to 64 letters, digits, '.', '_' or '-'")
		case ids[id]:
			p.add("encryption.keys", spec, "key id "+id+" listed twice")
		default:
			ids[id] = true
		}
	}
	if !e.Enabled {
		return
	}
	switch {
	case e.KeyID == "":
		p.add("encryption.key_id", e.KeyID, "must name the key that seals new entries when encryption.enabled is true")
	case !ids[e.KeyID]:
		p.add("encryption.key_id", e.KeyID, "must be one of the ids in encryption.keys")
	}
	if s.Format != "raw" {
		p.add("stream.format", s.Format, "must be raw when encryption.enabled is true (a sealed value has no JSON fields)")
	}

	p.notEmpty("encryption.key_id_field", e.KeyIDField)
	if e.KeyIDField != "" {
		taken := map[string]string{s.ValueField: "stream.value_field"}
		if s.KeyField != "" {
			taken[s.KeyField] = "stream.key_field"
		}
		for _, m := range s.Metadata {
			taken[m] = "stream.metadata"
		}
		if owner, dup := taken[e.KeyIDField]; dup {
			p.add("encryption.key_id_field", e.KeyIDField, "field name already used by "+owner)
		}
		if s.HeadersPrefix != "" && strings.HasPrefix(e.KeyIDField, s.HeadersPrefix) {
			p.add("stream.headers_prefix", s.HeadersPrefix, "is a prefix of field "+e.KeyIDField+" (encryption.key_id_field), so a header could overwrite it")
		}
	}

	if len(e.Headers) > 0 && s.HeadersPrefix == "" {
		p.add("encryption.headers", e.Headers, "headers are stored only with stream.headers_prefix set")
	}
	seen := map[string]bool{}
	for _, h := range e.Headers {
		switch {
		case h == "":
			p.add("encryption.headers", h, "must not be empty")
		case seen[h]:
			p.add("encryption.headers", h, "listed twice")
		case slices.Contains(templateHeaders(s.Key), h):
			p.add("encryption.headers", h, "is used by stream.key as {header:"+h+"}, which would put its plaintext in the stream key")
		}
		seen[h] = true
	}
}

// templateHeaders returns the header names a stream key template uses.
func templateHeaders(tmpl string) []string {
	var names []string
	for rest := tmpl; ; {
		open := strings.Index(rest, "{header:")
		if open < 0 {
			return names
		}
		rest = rest[open+len("{header:"):]
		end := strings.IndexByte(rest, '}')
		if end < 0 {
			return names
		}
		names = append(names, rest[:end])
		rest = rest[end+1:]
	}
}
