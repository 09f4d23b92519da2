package config

import (
	"strings"
	"testing"
	"time"
)

func TestValidateAccepts(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
	}{
		{"defaults", func(*Config) {}},
		{"topic patterns", func(c *Config) { c.Kafka.TopicsRegex = true; c.Kafka.Topics = []string{"events\\..*"} }},
		{"sentinel", func(c *Config) {
			c.Redis.Mode = "sentinel"
			c.Redis.MasterName = "mymaster"
			c.Redis.Addrs = []string{"s1:26379", "s2:26379"}
		}},
		{"cluster", func(c *Config) { c.Redis.Mode = "cluster"; c.Redis.Addrs = []string{"n1:7000", "n2:7001"} }},
		{"redis address without host", func(c *Config) { c.Redis.Addrs = []string{":6379"} }},
		{"http disabled", func(c *Config) { c.HTTP.Listen = "" }},
		{"http ipv6", func(c *Config) { c.HTTP.Listen = "[::1]:0" }},
		{"plain over tls", func(c *Config) {
			c.Kafka.TLS.Enabled = true
			c.Kafka.SASL = SASL{Mechanism: "plain", Username: "u", Password: "p"}
		}},
		{"plain allowed in clear", func(c *Config) {
			c.Kafka.SASL = SASL{Mechanism: "PLAIN", Username: "u", PasswordFile: "/p", AllowPlaintext: true}
		}},
		{"oauthbearer", func(c *Config) { c.Kafka.SASL = SASL{Mechanism: "OAUTHBEARER", TokenFile: "/t"} }},
		{"client certificate", func(c *Config) { c.Redis.TLS = TLS{Enabled: true, CertFile: "/c", KeyFile: "/k"} }},
		{"full template", func(c *Config) {
			c.Stream.Key = "krc:{topic}:{partition}:{key}:{header:tenant-id}"
			c.Stream.FallbackKey = "krc:{topic}:{partition}:unrouted"
		}},
		{"no key field", func(c *Config) { c.Stream.KeyField = "" }},
		{"headers prefix", func(c *Config) { c.Stream.HeadersPrefix = "h." }},
		{"dlq", func(c *Config) { c.Errors = Errors{Policy: "dlq", DLQTopic: "events.dlq"} }},
		{"equal backoffs", func(c *Config) { c.Retry.MaxBackoff = c.Retry.InitialBackoff }},
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

func TestValidateRejects(t *testing.T) {
	tests := []struct {
		name              string
		mutate            func(*Config)
		key, value, match string
	}{
		{"no brokers", func(c *Config) { c.Kafka.Brokers = nil }, "kafka.brokers", "[]", "must list at least one broker"},
		{"broker without port", func(c *Config) { c.Kafka.Brokers = []string{"kafka"} }, "kafka.brokers", "kafka", "must be host:port"},
		{"broker without host", func(c *Config) { c.Kafka.Brokers = []string{":9092"} }, "kafka.brokers", ":9092", "with a host"},
		{"broker bad port", func(c *Config) { c.Kafka.Brokers = []string{"k:99999"} }, "kafka.brokers", "k:99999", "port must be a number"},
		{"no group", func(c *Config) { c.Kafka.Group = "" }, "kafka.group", `""`, "must not be empty"},
		{"no topics", func(c *Config) { c.Kafka.Topics = []string{} }, "kafka.topics", "[]", "must list at least one topic"},
		{"topic pattern without regex", func(c *Config) { c.Kafka.Topics = []string{"events.*"} }, "kafka.topics", "events.*", "set kafka.topics_regex"},
		{"bad topic regex", func(c *Config) { c.Kafka.TopicsRegex = true; c.Kafka.Topics = []string{"ev(ents"} }, "kafka.topics", "ev(ents", "not a valid regular expression"},
		{"start offset", func(c *Config) { c.Kafka.StartOffset = "newest" }, "kafka.start_offset", "newest", "must be one of earliest, latest"},
		{"session timeout", func(c *Config) { c.Kafka.SessionTimeout = 0 }, "kafka.session_timeout", "0s", "must be greater than 0"},
		{"rebalance timeout", func(c *Config) { c.Kafka.RebalanceTimeout = -time.Second }, "kafka.rebalance_timeout", "-1s", "must be greater than 0"},
		{"fetch max bytes", func(c *Config) { c.Kafka.FetchMaxBytes = 0 }, "kafka.fetch_max_bytes", "0", "must be at least 1"},
		{"fetch buffer bytes", func(c *Config) { c.Kafka.FetchBufferBytes = 1000 }, "kafka.fetch_buffer_bytes", "1000", "must be at least 65536"},
		{"kafka cert without key", func(c *Config) { c.Kafka.TLS.CertFile = "/c" }, "kafka.tls.key_file", `""`, "must be set when kafka.tls.cert_file is"},
		{"redis key without cert", func(c *Config) { c.Redis.TLS.KeyFile = "/k" }, "redis.tls.cert_file", `""`, "must be set when redis.tls.key_file is"},
		{"sasl mechanism", func(c *Config) { c.Kafka.SASL.Mechanism = "GSSAPI" }, "kafka.sasl.mechanism", "GSSAPI", "must be one of"},
		{"sasl plain in clear", func(c *Config) { c.Kafka.SASL = SASL{Mechanism: "PLAIN", Username: "u", Password: "p"} }, "kafka.sasl.mechanism", "PLAIN", "clear text"},
		{"sasl scram without username", func(c *Config) { c.Kafka.SASL = SASL{Mechanism: "SCRAM-SHA-512", Password: "p"} }, "kafka.sasl.username", `""`, "must be set for mechanism SCRAM-SHA-512"},
		{"sasl scram without password", func(c *Config) { c.Kafka.SASL = SASL{Mechanism: "SCRAM-SHA-256", Username: "u"} }, "kafka.sasl.password", `""`, "must be set"},
		{"sasl oauth without token", func(c *Config) { c.Kafka.SASL = SASL{Mechanism: "OAUTHBEARER"} }, "kafka.sasl.token_file", `""`, "must be set"},
		{"sasl password twice", func(c *Config) { c.Kafka.SASL.Password = "hunter2"; c.Kafka.SASL.PasswordFile = "/p" }, "kafka.sasl.password", "[redacted]", "use one"},
		{"no redis addrs", func(c *Config) { c.Redis.Addrs = nil }, "redis.addrs", "[]", "must list at least one address"},
		{"redis addr", func(c *Config) { c.Redis.Addrs = []string{"redis"} }, "redis.addrs", "redis", "must be host:port"},
		{"standalone with two addrs", func(c *Config) { c.Redis.Addrs = []string{"a:1", "b:2"} }, "redis.addrs", "[a:1, b:2]", "exactly one address"},
		{"redis mode", func(c *Config) { c.Redis.Mode = "replica" }, "redis.mode", "replica", "must be one of standalone, cluster, sentinel"},
		{"sentinel without master", func(c *Config) { c.Redis.Mode = "sentinel" }, "redis.master_name", `""`, "must not be empty"},
		{"negative db", func(c *Config) { c.Redis.DB = -1 }, "redis.db", "-1", "must be at least 0"},
		{"db in cluster", func(c *Config) { c.Redis.Mode = "cluster"; c.Redis.DB = 2 }, "redis.db", "2", "must be 0 in cluster mode"},
		{"redis password twice", func(c *Config) { c.Redis.Password = "hunter2"; c.Redis.PasswordFile = "/p" }, "redis.password", "[redacted]", "use one"},
		{"dial timeout", func(c *Config) { c.Redis.DialTimeout = 0 }, "redis.dial_timeout", "0s", "must be greater than 0"},
		{"read timeout", func(c *Config) { c.Redis.ReadTimeout = 0 }, "redis.read_timeout", "0s", "must be greater than 0"},
		{"write timeout", func(c *Config) { c.Redis.WriteTimeout = 0 }, "redis.write_timeout", "0s", "must be greater than 0"},
		{"pool size", func(c *Config) { c.Redis.PoolSize = -1 }, "redis.pool_size", "-1", "must be at least 0"},
		{"no stream key", func(c *Config) { c.Stream.Key = "" }, "stream.key", `""`, "must not be empty"},
		{"unknown placeholder", func(c *Config) { c.Stream.Key = "{topic}-{offset}" }, "stream.key", "{topic}-{offset}", "unknown placeholder {offset}"},
		{"unclosed placeholder", func(c *Config) { c.Stream.Key = "s:{topic" }, "stream.key", "s:{topic", "unclosed placeholder {topic"},
		{"empty header name", func(c *Config) { c.Stream.Key = "{header:}" }, "stream.key", "{header:}", "needs a header name"},
		{"fallback with key", func(c *Config) { c.Stream.FallbackKey = "dead:{key}" }, "stream.fallback_key", "dead:{key}", "placeholder {key} may not resolve"},
		{"fallback with header", func(c *Config) { c.Stream.FallbackKey = "{header:t}" }, "stream.fallback_key", "{header:t}", "may only use {topic} and {partition}"},
		{"fallback unknown placeholder", func(c *Config) { c.Stream.FallbackKey = "{x}" }, "stream.fallback_key", "{x}", "unknown placeholder {x}"},
		{"format", func(c *Config) { c.Stream.Format = "xml" }, "stream.format", "xml", "must be one of raw, json, avro, protobuf, json_schema"},
		{"no value field", func(c *Config) { c.Stream.ValueField = "" }, "stream.value_field", `""`, "must not be empty"},
		{"metadata item", func(c *Config) { c.Stream.Metadata = []string{"offset", "headers"} }, "stream.metadata", "headers", "must be one of topic, partition, offset, timestamp"},
		{"metadata twice", func(c *Config) { c.Stream.Metadata = []string{"offset", "offset"} }, "stream.metadata", "offset", "listed twice"},
		{"key field is value field", func(c *Config) { c.Stream.KeyField = "value" }, "stream.key_field", "value", "already used by stream.value_field"},
		{"value field is metadata", func(c *Config) { c.Stream.ValueField = "offset" }, "stream.metadata", "offset", "already used by stream.value_field"},
		{"headers prefix shadows field", func(c *Config) { c.Stream.HeadersPrefix = "k" }, "stream.headers_prefix", "k", "prefix of field key (stream.key_field)"},
		{"max len", func(c *Config) { c.Stream.MaxLen = -1 }, "stream.max_len", "-1", "must be at least 0"},
		{"max entry bytes", func(c *Config) { c.Stream.MaxEntryBytes = 0 }, "stream.max_entry_bytes", "0", "must be at least 1"},
		{"batch events", func(c *Config) { c.Batch.MaxEvents = -1 }, "batch.max_events", "-1", "must be 0 (adaptive) or positive"},
		{"batch bytes", func(c *Config) { c.Batch.MaxBytes = -1 }, "batch.max_bytes", "-1", "must be 0 (adaptive) or positive"},
		{"batch timeout", func(c *Config) { c.Batch.Timeout = 0 }, "batch.timeout", "0s", "must be greater than 0"},
		{"batch in flight", func(c *Config) { c.Batch.MaxInFlight = -2 }, "batch.max_in_flight", "-2", "must be 0 (adaptive) or positive"},
		{"buffered bytes below batch bytes", func(c *Config) { c.Batch.MaxBytes, c.Batch.MaxBufferedBytes = 1<<20, 1000 }, "batch.max_buffered_bytes", "1000", "must be at least batch.max_bytes (1048576)"},
		{"buffered bytes not positive", func(c *Config) { c.Batch.MaxBufferedBytes = 0 }, "batch.max_buffered_bytes", "0", "must be at least batch.max_bytes (0)"},
		{"buffered bytes zero", func(c *Config) { c.Batch.MaxBytes, c.Batch.MaxBufferedBytes = 0, 0 }, "batch.max_buffered_bytes", "0", "must be at least batch.max_bytes (0)"},
		{"breaker failures", func(c *Config) { c.CircuitBreaker.FailureThreshold = 0 }, "circuit_breaker.failure_threshold", "0", "must be at least 1"},
		{"breaker recovery", func(c *Config) { c.CircuitBreaker.Recovery = 0 }, "circuit_breaker.recovery", "0s", "must be greater than 0"},
		{"breaker successes", func(c *Config) { c.CircuitBreaker.SuccessThreshold = 0 }, "circuit_breaker.success_threshold", "0", "must be at least 1"},
		{"retry attempts", func(c *Config) { c.Retry.MaxAttempts = 0 }, "retry.max_attempts", "0", "must be at least 1"},
		{"retry initial backoff", func(c *Config) { c.Retry.InitialBackoff = 0 }, "retry.initial_backoff", "0s", "must be greater than 0"},
		{"retry max backoff", func(c *Config) { c.Retry.MaxBackoff = 50 * time.Millisecond }, "retry.max_backoff", "50ms", "must be at least retry.initial_backoff (100ms)"},
		{"flush timeout", func(c *Config) { c.FlushTimeout = 0 }, "flush_timeout", "0s", "must be greater than 0"},
		{"errors policy", func(c *Config) { c.Errors.Policy = "retry" }, "errors.policy", "retry", `must be one of "", fail, dlq, skip`},
		{"dlq without topic", func(c *Config) { c.Errors.Policy = "dlq" }, "errors.dlq_topic", `""`, "must be set when errors.policy is dlq"},
		{"http listen", func(c *Config) { c.HTTP.Listen = "8080" }, "http.listen", "8080", "must be host:port"},
		{"log level", func(c *Config) { c.Log.Level = "trace" }, "log.level", "trace", "must be one of debug, info, warn, error"},
		{"log format", func(c *Config) { c.Log.Format = "xml" }, "log.format", "xml", "must be one of json, text"},
		{"shutdown timeout", func(c *Config) { c.ShutdownTimeout = 0 }, "shutdown_timeout", "0s", "must be greater than 0"},
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
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("got %q, want the secret redacted", err)
			}
		})
	}
}

func TestFieldErrorMessage(t *testing.T) {
	tests := []struct {
		err  FieldError
		want string
	}{
		{FieldError{Key: "kafka.brokers", Value: "[]", Reason: "must list at least one broker"}, "config: kafka.brokers = []: must list at least one broker"},
		{FieldError{Key: "kafka.brokerz", Reason: "unknown key"}, "config: kafka.brokerz: unknown key"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDisplay(t *testing.T) {
	tests := []struct {
		in   any
		want string
	}{
		{"", `""`},
		{"a:1", "a:1"},
		{"5 parsecs", `"5 parsecs"`},
		{[]string{"a", "b c"}, `[a, "b c"]`},
		{[]string(nil), "[]"},
		{[]any{"x", 1}, "[x, 1]"},
		{60 * time.Second, "60s"},
		{1500 * time.Millisecond, "1500ms"},
		{nil, "null"},
		{map[string]any{"a": 1}, "{...}"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := display(tt.in); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
