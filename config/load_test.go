package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestLoadDefaults(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string // "" means no file
		environ []string
	}{
		{name: "no file, no environment"},
		{name: "empty file", yaml: "\n"},
		{name: "empty sections", yaml: "kafka: {}\nredis:\n"},
		{name: "unrelated environment", environ: []string{"PATH=/bin", "KRCX=1", "krc_batch_max_events=9", "NOEQUALS"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := ""
			if tt.yaml != "" {
				file = writeFile(t, tt.yaml)
			}
			got, err := Load(file, tt.environ)
			if err != nil {
				t.Fatalf("got error %v, want nil", err)
			}
			if !reflect.DeepEqual(got, Default()) {
				t.Errorf("got %+v, want %+v", got, Default())
			}
		})
	}
}

func TestLoadOverrides(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		environ []string
		want    func(*Config)
	}{
		{
			name: "yaml overrides",
			yaml: `
kafka:
  brokers: [a:9092, b:9093]
  tls: {enabled: true, ca_file: /ca.pem}
stream:
  key: "{topic}-{partition}"
batch:
  max_events: 500
  timeout: 5ms
circuit_breaker: {failure_threshold: 7}
`,
			want: func(c *Config) {
				c.Kafka.Brokers = []string{"a:9092", "b:9093"}
				c.Kafka.TLS.Enabled = true
				c.Kafka.TLS.CAFile = "/ca.pem"
				c.Stream.Key = "{topic}-{partition}"
				c.Batch.MaxEvents = 500
				c.Batch.Timeout = 5 * time.Millisecond
				c.CircuitBreaker.FailureThreshold = 7
			},
		},
		{
			name:    "env beats yaml",
			yaml:    "batch: {max_events: 500}\nshutdown_timeout: 10s\n",
			environ: []string{"KRC_BATCH_MAX_EVENTS=7", "KRC_SHUTDOWN_TIMEOUT=1m30s"},
			want: func(c *Config) {
				c.Batch.MaxEvents = 7
				c.ShutdownTimeout = 90 * time.Second
			},
		},
		{
			name:    "env list trims spaces and drops empty items",
			environ: []string{"KRC_KAFKA_BROKERS= a:1, ,b:2 ,", "KRC_STREAM_METADATA=offset"},
			want: func(c *Config) {
				c.Kafka.Brokers = []string{"a:1", "b:2"}
				c.Stream.Metadata = []string{"offset"}
			},
		},
		{
			name:    "env empty list",
			environ: []string{"KRC_STREAM_METADATA="},
			want:    func(c *Config) { c.Stream.Metadata = []string{} },
		},
		{
			name:    "env key with underscores in its name",
			environ: []string{"KRC_KAFKA_TLS_CA_FILE=/ca.pem", "KRC_CIRCUIT_BREAKER_SUCCESS_THRESHOLD=2"},
			want: func(c *Config) {
				c.Kafka.TLS.CAFile = "/ca.pem"
				c.CircuitBreaker.SuccessThreshold = 2
			},
		},
		{
			name:    "env bool",
			environ: []string{"KRC_STREAM_APPROX_TRIM=false"},
			want:    func(c *Config) { c.Stream.ApproxTrim = false },
		},
		{
			name:    "last duplicate env entry wins",
			environ: []string{"KRC_LOG_LEVEL=debug", "KRC_LOG_LEVEL=warn"},
			want:    func(c *Config) { c.Log.Level = "warn" },
		},
		{
			name: "yaml comma-separated list",
			yaml: "kafka: {topics: 'a, b'}\n",
			want: func(c *Config) { c.Kafka.Topics = []string{"a", "b"} },
		},
		{
			name: "yaml null empties a key",
			yaml: "http: {listen: null}\n",
			want: func(c *Config) { c.HTTP.Listen = "" },
		},
		{
			name: "yaml null section keeps defaults",
			yaml: "kafka:\nlog: {level: debug}\n",
			want: func(c *Config) { c.Log.Level = "debug" },
		},
		{
			name: "unquoted number as string",
			yaml: "kafka: {group: 123}\n",
			want: func(c *Config) { c.Kafka.Group = "123" },
		},
		{
			name: "sasl mechanism upper-cased",
			yaml: "kafka: {sasl: {mechanism: scram-sha-256, username: u, password_file: /p}}\n",
			want: func(c *Config) {
				c.Kafka.SASL.Mechanism = "SCRAM-SHA-256"
				c.Kafka.SASL.Username = "u"
				c.Kafka.SASL.PasswordFile = "/p"
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := ""
			if tt.yaml != "" {
				file = writeFile(t, tt.yaml)
			}
			got, err := Load(file, tt.environ)
			if err != nil {
				t.Fatalf("got error %v, want nil", err)
			}
			want := Default()
			tt.want(&want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %+v, want %+v", got, want)
			}
		})
	}
}

func TestLoadProblems(t *testing.T) {
	tests := []struct {
		name                   string
		yaml                   string
		environ                []string
		key, value, wantReason string
	}{
		{"unknown key", "kafka: {brokerz: [x:1]}\n", nil, "kafka.brokerz", "", "unknown key (did you mean kafka.brokers?)"},
		{"unknown section", "kafak: {brokers: [x:1], group: g}\n", nil, "kafak", "", "unknown key (did you mean kafka?)"},
		{"unknown nested key", "kafka: {tls: {ca_fil: /x}}\n", nil, "kafka.tls.ca_fil", "", "unknown key"},
		{"unknown KRC_ variable", "", []string{"KRC_KAFKA_BROKERZ=x:1"}, "KRC_KAFKA_BROKERZ", "", "unknown environment variable (did you mean KRC_KAFKA_BROKERS?)"},
		{"integer not a number", "batch: {max_events: abc}\n", nil, "batch.max_events", "abc", "must be an integer"},
		{"integer with a fraction", "batch: {max_events: 1.5}\n", nil, "batch.max_events", "1.5", "must be an integer"},
		{"integer from env", "", []string{"KRC_BATCH_MAX_EVENTS=abc"}, "batch.max_events", "abc", "must be an integer (from KRC_BATCH_MAX_EVENTS)"},
		{"integer out of range", "kafka: {fetch_max_bytes: 9999999999}\n", nil, "kafka.fetch_max_bytes", "9999999999", "out of range for a 32-bit integer"},
		{"negative unsigned", "circuit_breaker: {failure_threshold: -1}\n", nil, "circuit_breaker.failure_threshold", "-1", "must not be negative"},
		{"bool not a bool", "kafka: {topics_regex: maybe}\n", nil, "kafka.topics_regex", "maybe", "must be true or false"},
		{"bool from env", "", []string{"KRC_KAFKA_TLS_ENABLED=yes please"}, "kafka.tls.enabled", `"yes please"`, "must be true or false"},
		{"bad duration", "flush_timeout: 5 parsecs\n", nil, "flush_timeout", `"5 parsecs"`, "must be a duration with a unit"},
		{"duration as integer", "batch: {timeout: 100}\n", nil, "batch.timeout", "100", "ambiguous"},
		{"duration as float", "batch: {timeout: 0.5}\n", nil, "batch.timeout", "0.5", "ambiguous"},
		{"duration without unit from env", "", []string{"KRC_BATCH_TIMEOUT=100"}, "batch.timeout", "100", "ambiguous"},
		{"string given a list", "kafka: {group: [a, b]}\n", nil, "kafka.group", "[a, b]", "must be a string"},
		{"unquoted template", "stream: {key: {topic}}\n", nil, "stream.key", "{...}", `quote values starting with "{"`},
		{"list given a mapping", "kafka: {brokers: {a: 1}}\n", nil, "kafka.brokers", "{...}", "must be a list of strings"},
		{"list of lists", "kafka: {topics: [[a]]}\n", nil, "kafka.topics", "[[a]]", "must be a list of strings"},
		{"section given a scalar", "kafka: {tls: true}\n", nil, "kafka.tls", "true", "must be a mapping"},
		{"empty brokers", "kafka: {brokers: []}\n", nil, "kafka.brokers", "[]", "must list at least one broker"},
		{"empty topics", "", []string{"KRC_KAFKA_TOPICS= , "}, "kafka.topics", "[]", "must list at least one topic"},
		{"bad template placeholder", "stream: {key: 'events-{topik}'}\n", nil, "stream.key", "events-{topik}", "unknown placeholder {topik}"},
		{"bad enum", "redis: {mode: clustr}\n", nil, "redis.mode", "clustr", "must be one of standalone, cluster, sentinel"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := ""
			if tt.yaml != "" {
				file = writeFile(t, tt.yaml)
			}
			_, err := Load(file, tt.environ)
			if err == nil {
				t.Fatal("got nil error, want one")
			}
			wantProblem(t, err, tt.key, tt.value, tt.wantReason)
		})
	}
}

func TestLoadReportsEveryProblem(t *testing.T) {
	file := writeFile(t, `
kafka:
  brokerz: [x:9092]
  brokers: []
flush_timeout: 5 parsecs
`)
	_, err := Load(file, []string{"KRC_NOPE=1"})
	if err == nil {
		t.Fatal("got nil error, want one")
	}
	wantProblem(t, err, "kafka.brokerz", "", "unknown key")
	wantProblem(t, err, "kafka.brokers", "[]", "must list at least one broker")
	wantProblem(t, err, "flush_timeout", `"5 parsecs"`, "must be a duration")
	wantProblem(t, err, "KRC_NOPE", "", "unknown environment variable")
	if got, want := len(fieldErrors(err)), 4; got != want {
		t.Errorf("got %d problems (%v), want %d", got, err, want)
	}
}

func TestLoadRejectedValueKeepsDefault(t *testing.T) {
	// A value that fails to decode must not also fail validation as a zero.
	_, err := Load(writeFile(t, "flush_timeout: soon\n"), nil)
	for _, fe := range fieldErrors(err) {
		if fe.Key == "flush_timeout" && strings.Contains(fe.Reason, "greater than 0") {
			t.Errorf("got %v, want only the decode problem for flush_timeout", fe)
		}
	}
}

func TestLoadFileErrors(t *testing.T) {
	tests := []struct {
		name string
		file func(t *testing.T) string
	}{
		{"missing file", func(t *testing.T) string { return t.TempDir() + "/absent.yaml" }},
		{"syntax error", func(t *testing.T) string { return writeFile(t, "kafka: [unclosed\n") }},
		{"duplicate key", func(t *testing.T) string { return writeFile(t, "log: {}\nlog: {}\n") }},
		{"not a mapping", func(t *testing.T) string { return writeFile(t, "- a\n- b\n") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := tt.file(t)
			_, err := Load(file, nil)
			if err == nil || !strings.Contains(err.Error(), file) {
				t.Errorf("got %v, want an error naming %s", err, file)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "config: ") {
				t.Errorf("got %q, want prefix %q", err, "config: ")
			}
		})
	}
}

func TestEnvNames(t *testing.T) {
	ks := knownKeys()
	if got, want := len(ks.byEnv), len(ks.leaves); got != want {
		t.Fatalf("got %d distinct env names for %d keys, want one each", got, want)
	}
	tests := []struct{ env, key string }{
		{"KRC_KAFKA_TLS_CA_FILE", "kafka.tls.ca_file"},
		{"KRC_BATCH_MAX_EVENTS", "batch.max_events"},
		{"KRC_SHUTDOWN_TIMEOUT", "shutdown_timeout"},
		{"KRC_REDIS_PASSWORD_FILE", "redis.password_file"},
		{"KRC_KAFKA_SASL_ALLOW_PLAINTEXT", "kafka.sasl.allow_plaintext"},
		{"KRC_STREAM_METADATA", "stream.metadata"},
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			if got := ks.byEnv[tt.env]; got != tt.key {
				t.Errorf("got %q, want %q", got, tt.key)
			}
		})
	}
}

func TestToDuration(t *testing.T) {
	tests := []struct {
		name       string
		in         any
		want       time.Duration
		wantReason string
	}{
		{"go duration", "100ms", 100 * time.Millisecond, ""},
		{"compound duration", " 1m30s ", 90 * time.Second, ""},
		{"zero integer", 0, 0, ""},
		{"zero string", "0", 0, ""},
		{"integer", 30, 0, "ambiguous"},
		{"numeric string", "30", 0, "ambiguous"},
		{"float", 0.5, 0, "ambiguous"},
		{"nonsense", "soon", 0, "must be a duration with a unit"},
		{"bool", true, 0, "must be a duration with a unit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, reason := toDuration(tt.in)
			if got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
			if tt.wantReason == "" && reason != "" || !strings.Contains(reason, tt.wantReason) {
				t.Errorf("got reason %q, want one containing %q", reason, tt.wantReason)
			}
		})
	}
}

// TestBatchLimitsAdaptUnlessSet: batch.max_events and batch.max_in_flight
// default to 0 (the connector adapts them); a value from YAML or the
// environment is kept as set, each key on its own.
func TestBatchLimitsAdaptUnlessSet(t *testing.T) {
	for _, tc := range []struct {
		name             string
		yaml             string
		environ          []string
		events, inflight int
	}{
		{name: "nothing set", events: 0, inflight: 0},
		{name: "max_events from YAML", yaml: "batch: {max_events: 500}\n", events: 500, inflight: 0},
		{name: "max_in_flight from the environment", environ: []string{"KRC_BATCH_MAX_IN_FLIGHT=3"}, events: 0, inflight: 3},
		{name: "both, environment over YAML", yaml: "batch: {max_events: 500, max_in_flight: 2}\n",
			environ: []string{"KRC_BATCH_MAX_EVENTS=50", "KRC_BATCH_MAX_IN_FLIGHT=1"}, events: 50, inflight: 1},
		{name: "0 set explicitly adapts", yaml: "batch: {max_events: 0, max_in_flight: 0}\n", events: 0, inflight: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := ""
			if tc.yaml != "" {
				file = writeFile(t, tc.yaml)
			}
			cfg, err := Load(file, append([]string{"KRC_KAFKA_BROKERS=k:9092", "KRC_KAFKA_TOPICS=t", "KRC_REDIS_ADDRS=r:6379"}, tc.environ...))
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			if cfg.Batch.MaxEvents != tc.events || cfg.Batch.MaxInFlight != tc.inflight {
				t.Errorf("got max_events=%d max_in_flight=%d, want %d and %d", cfg.Batch.MaxEvents, cfg.Batch.MaxInFlight, tc.events, tc.inflight)
			}
		})
	}
}
