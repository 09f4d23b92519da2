package config

import (
	"strings"
	"time"
)

// StreamIDAuto and the other stream.id values the connector knows. A
// {header:NAME} template is StreamIDHeaderPrefix + NAME + "}".
const (
	StreamIDAuto         = "*"
	StreamIDTimestamp    = "{timestamp}-*"
	StreamIDKey          = "{key}"
	StreamIDHeaderPrefix = "{header:"
)

// TombstoneField is the marker field of a null-value record's entry under
// stream.tombstones: entry (its value is "1"; the value field is left out).
const TombstoneField = "tombstone"

// StreamIDHeader returns the header name of a {header:NAME} stream.id, and
// whether id is one.
func StreamIDHeader(id string) (string, bool) {
	name, ok := strings.CutPrefix(id, StreamIDHeaderPrefix)
	if !ok || !strings.HasSuffix(name, "}") {
		return "", false
	}
	name = strings.TrimSuffix(name, "}")
	return name, name != "" && !strings.ContainsAny(name, "{}")
}

// checkStreamControl holds the rules of the keys that control entry IDs,
// retention, tombstones and replica acknowledgement.
func (c Config) checkStreamControl(p *problemList) {
	s := c.Stream
	if _, header := StreamIDHeader(s.ID); !header && s.ID != StreamIDAuto && s.ID != StreamIDTimestamp && s.ID != StreamIDKey {
		p.add("stream.id", s.ID, `must be "*", "{timestamp}-*", "{key}" or "{header:NAME}"`)
	}
	subMillisecond := func(key string, d time.Duration) {
		switch {
		case d < 0:
			p.add(key, d, "must not be negative (0 disables it)")
		case d > 0 && d < time.Millisecond:
			p.add(key, d, "must be at least 1ms (Redis counts in milliseconds), or 0 to disable it")
		}
	}
	subMillisecond("stream.max_age", s.MaxAge)
	subMillisecond("stream.ttl", s.TTL)
	p.oneOf("stream.tombstones", s.Tombstones, "skip", "entry", "delete")
	if s.Tombstones == "entry" {
		// The marker must tell a tombstone's entry from every other entry.
		const marker = TombstoneField
		switch {
		case s.ValueField == marker:
			p.add("stream.value_field", s.ValueField, "is the tombstone marker field of stream.tombstones: entry")
		case s.KeyField == marker:
			p.add("stream.key_field", s.KeyField, "is the tombstone marker field of stream.tombstones: entry")
		case s.HeadersPrefix != "" && strings.HasPrefix(marker, s.HeadersPrefix):
			p.add("stream.headers_prefix", s.HeadersPrefix, "a header could be stored as the tombstone marker field of stream.tombstones: entry")
		}
	}
	if s.Tombstones == "delete" && !perRecordKey(s.Key) {
		p.add("stream.tombstones", s.Tombstones,
			"delete removes the record's whole stream: stream.key must contain {key} or {header:NAME}, got "+quoteIfNeeded(s.Key))
	}

	r := c.Redis
	p.atLeast("redis.wait_replicas", int64(r.WaitReplicas), 0)
	if r.WaitReplicas > 0 {
		switch {
		case r.WaitTimeout < time.Millisecond:
			// WAIT n 0 blocks until the replicas answer, for ever.
			p.add("redis.wait_timeout", r.WaitTimeout, "must be at least 1ms when redis.wait_replicas is set (0 would make WAIT block for ever)")
		case r.ReadTimeout > 0 && r.WaitTimeout >= r.ReadTimeout:
			p.add("redis.wait_timeout", r.WaitTimeout, "must be less than redis.read_timeout ("+formatDuration(r.ReadTimeout)+"), or every WAIT reply would time out the connection")
		case c.FlushTimeout > 0 && r.WaitTimeout >= c.FlushTimeout:
			p.add("redis.wait_timeout", r.WaitTimeout, "must be less than flush_timeout ("+formatDuration(c.FlushTimeout)+")")
		}
	}
}

// perRecordKey reports whether a stream key template names a part of the
// record (its key or a header), so that each key has a stream of its own.
func perRecordKey(tmpl string) bool {
	return strings.Contains(tmpl, "{key}") || strings.Contains(tmpl, "{header:")
}
