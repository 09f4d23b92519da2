package config

import (
	"testing"
	"time"
)

func TestStreamControlAccepts(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
	}{
		{"timestamp ids", func(c *Config) { c.Stream.ID = "{timestamp}-*" }},
		{"key ids", func(c *Config) { c.Stream.ID = "{key}" }},
		{"header ids", func(c *Config) { c.Stream.ID = "{header:event-id}" }},
		{"age and length", func(c *Config) { c.Stream.MaxAge = 24 * time.Hour; c.Stream.MaxLen = 1000 }},
		{"ttl", func(c *Config) { c.Stream.TTL = time.Hour }},
		{"tombstone entries", func(c *Config) { c.Stream.Tombstones = "entry" }},
		{"tombstone entries with headers", func(c *Config) { c.Stream.Tombstones, c.Stream.HeadersPrefix = "entry", "h." }},
		{"marker name free without entries", func(c *Config) { c.Stream.KeyField = "tombstone" }},
		{"tombstone delete per key", func(c *Config) { c.Stream.Tombstones = "delete"; c.Stream.Key = "{topic}:{key}" }},
		{"tombstone delete per header", func(c *Config) { c.Stream.Tombstones = "delete"; c.Stream.Key = "t:{header:tenant}" }},
		{"wait", func(c *Config) { c.Redis.WaitReplicas = 1 }},
		{"wait timeout unused", func(c *Config) { c.Redis.WaitTimeout = 0 }},
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

func TestStreamControlRejects(t *testing.T) {
	tests := []struct {
		name              string
		mutate            func(*Config)
		key, value, match string
	}{
		{"unknown id", func(c *Config) { c.Stream.ID = "{offset}" }, "stream.id", "{offset}", `must be "*"`},
		{"empty id", func(c *Config) { c.Stream.ID = "" }, "stream.id", `""`, `must be "*"`},
		{"header id without name", func(c *Config) { c.Stream.ID = "{header:}" }, "stream.id", "{header:}", `"{header:NAME}"`},
		{"explicit literal id", func(c *Config) { c.Stream.ID = "5-1" }, "stream.id", "5-1", `must be "*"`},
		{"negative age", func(c *Config) { c.Stream.MaxAge = -time.Second }, "stream.max_age", "-1s", "must not be negative"},
		{"microsecond age", func(c *Config) { c.Stream.MaxAge = time.Microsecond }, "stream.max_age", "1us", "at least 1ms"},
		{"negative ttl", func(c *Config) { c.Stream.TTL = -time.Second }, "stream.ttl", "-1s", "must not be negative"},
		{"unknown tombstones", func(c *Config) { c.Stream.Tombstones = "drop" }, "stream.tombstones", "drop", "must be one of skip, entry, delete"},
		{"delete whole topic stream", func(c *Config) { c.Stream.Tombstones = "delete" }, "stream.tombstones", "delete", "must contain {key}"},
		{"marker as value field", func(c *Config) { c.Stream.Tombstones, c.Stream.ValueField = "entry", "tombstone" },
			"stream.value_field", "tombstone", "tombstone marker"},
		{"marker as key field", func(c *Config) { c.Stream.Tombstones, c.Stream.KeyField = "entry", "tombstone" },
			"stream.key_field", "tombstone", "tombstone marker"},
		{"marker as a header", func(c *Config) { c.Stream.Tombstones, c.Stream.HeadersPrefix = "entry", "tomb" },
			"stream.headers_prefix", "tomb", "tombstone marker"},
		{"negative replicas", func(c *Config) { c.Redis.WaitReplicas = -1 }, "redis.wait_replicas", "-1", "at least 0"},
		{"wait for ever", func(c *Config) { c.Redis.WaitReplicas = 1; c.Redis.WaitTimeout = 0 }, "redis.wait_timeout", "0s", "block for ever"},
		{"wait beyond read timeout", func(c *Config) { c.Redis.WaitReplicas = 1; c.Redis.WaitTimeout = 3 * time.Second },
			"redis.wait_timeout", "3s", "less than redis.read_timeout"},
		{"wait beyond flush timeout", func(c *Config) {
			c.Redis.WaitReplicas = 1
			c.Redis.ReadTimeout = 0
			c.Redis.WaitTimeout = 5 * time.Second
		}, "redis.wait_timeout", "5s", "less than flush_timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.mutate(&c)
			wantProblem(t, c.Validate(), tt.key, tt.value, tt.match)
		})
	}
}

func TestStreamControlEnv(t *testing.T) {
	cfg, err := Load("", []string{
		"KRC_STREAM_ID={header:event-id}", "KRC_STREAM_MAX_AGE=24h", "KRC_STREAM_TTL=90m",
		"KRC_STREAM_TOMBSTONES=entry", "KRC_REDIS_WAIT_REPLICAS=2", "KRC_REDIS_WAIT_TIMEOUT=250ms",
	})
	if err != nil {
		t.Fatalf("got %v, want nil", err)
	}
	got := []any{cfg.Stream.ID, cfg.Stream.MaxAge, cfg.Stream.TTL, cfg.Stream.Tombstones, cfg.Redis.WaitReplicas, cfg.Redis.WaitTimeout}
	want := []any{"{header:event-id}", 24 * time.Hour, 90 * time.Minute, "entry", 2, 250 * time.Millisecond}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("field %d: got %v, want %v", i, got[i], want[i])
		}
	}
}
