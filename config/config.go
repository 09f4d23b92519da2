package config

import "time"

// Config is the connector's whole configuration. Field tags name the YAML
// keys; the environment name of a key is KRC_ plus its path upper-cased with
// dots replaced by underscores (kafka.tls.ca_file -> KRC_KAFKA_TLS_CA_FILE).
type Config struct {
	Kafka           Kafka          `koanf:"kafka"`
	Redis           Redis          `koanf:"redis"`
	Stream          Stream         `koanf:"stream"`
	SchemaRegistry  SchemaRegistry `koanf:"schema_registry"`
	Encryption      Encryption     `koanf:"encryption"`
	Batch           Batch          `koanf:"batch"`
	CircuitBreaker  CircuitBreaker `koanf:"circuit_breaker"`
	Retry           Retry          `koanf:"retry"`
	FlushTimeout    time.Duration  `koanf:"flush_timeout"`
	Errors          Errors         `koanf:"errors"`
	HTTP            HTTP           `koanf:"http"`
	Log             Log            `koanf:"log"`
	ShutdownTimeout time.Duration  `koanf:"shutdown_timeout"`
	Delivery        Delivery       `koanf:"delivery"`
}

// Kafka configures the consumer group the connector reads from.
type Kafka struct {
	Brokers []string `koanf:"brokers"`
	Group   string   `koanf:"group"`
	Topics  []string `koanf:"topics"`
	// TopicsRegex makes every entry of Topics a regular expression matched
	// against the cluster's topic names.
	TopicsRegex bool `koanf:"topics_regex"`
	// StartOffset applies to partitions without a committed offset:
	// "earliest" or "latest".
	StartOffset      string        `koanf:"start_offset"`
	ClientID         string        `koanf:"client_id"`
	SessionTimeout   time.Duration `koanf:"session_timeout"`
	RebalanceTimeout time.Duration `koanf:"rebalance_timeout"`
	FetchMaxBytes    int32         `koanf:"fetch_max_bytes"`
	// FetchBufferBytes bounds what one fetch holds in memory once decoded
	// (the response, the records decompressed, franz-go's Record of
	// each): fetches ask the broker for fewer bytes the better the data
	// compresses, so the bound holds whatever the compression ratio.
	FetchBufferBytes int32 `koanf:"fetch_buffer_bytes"`
	TLS              TLS   `koanf:"tls"`
	SASL             SASL  `koanf:"sasl"`
	// InstanceID makes this member a static group member (KIP-345): a
	// restart within session_timeout gets its partitions back without a
	// rebalance. Every member of the group needs its own; empty: dynamic
	// membership.
	InstanceID string `koanf:"instance_id"`
	// Rack names where this member runs; brokers with a rack-aware replica
	// selector then serve its fetches from the closest replica (KIP-392).
	Rack string `koanf:"rack"`
	// TopicsExclude lists regular expressions of topics not to consume
	// although a Topics pattern matches them; needs TopicsRegex.
	TopicsExclude []string `koanf:"topics_exclude"`
}

// MinFetchBufferBytes is the lowest kafka.fetch_buffer_bytes: below it a
// fetch would carry too little to keep a lane busy.
const MinFetchBufferBytes = 64 << 10

// TLS configures a TLS connection; the zero value means plaintext.
type TLS struct {
	Enabled            bool   `koanf:"enabled"`
	CAFile             string `koanf:"ca_file"`
	CertFile           string `koanf:"cert_file"`
	KeyFile            string `koanf:"key_file"`
	ServerName         string `koanf:"server_name"`
	InsecureSkipVerify bool   `koanf:"insecure_skip_verify"`
}

// SASL configures Kafka authentication; an empty Mechanism disables it.
type SASL struct {
	// Mechanism is one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER.
	Mechanism    string `koanf:"mechanism"`
	Username     string `koanf:"username"`
	Password     string `koanf:"password"`
	PasswordFile string `koanf:"password_file"`
	TokenFile    string `koanf:"token_file"`
	// AllowPlaintext permits PLAIN without TLS, which sends the password in
	// clear text.
	AllowPlaintext bool `koanf:"allow_plaintext"`
}

// Redis configures the Redis deployment the connector writes to.
type Redis struct {
	Addrs []string `koanf:"addrs"`
	// Mode is standalone, cluster or sentinel.
	Mode         string        `koanf:"mode"`
	MasterName   string        `koanf:"master_name"`
	Username     string        `koanf:"username"`
	Password     string        `koanf:"password"`
	PasswordFile string        `koanf:"password_file"`
	DB           int           `koanf:"db"`
	TLS          TLS           `koanf:"tls"`
	DialTimeout  time.Duration `koanf:"dial_timeout"`
	ReadTimeout  time.Duration `koanf:"read_timeout"`
	WriteTimeout time.Duration `koanf:"write_timeout"`
	// PoolSize 0 lets go-redis pick (10 per CPU).
	PoolSize int `koanf:"pool_size"`
	// WaitReplicas > 0 sends WAIT after every write, on its connection:
	// offsets are committed only once that many replicas acknowledged it
	// within WaitTimeout; fewer is a retryable failure.
	WaitReplicas int           `koanf:"wait_replicas"`
	WaitTimeout  time.Duration `koanf:"wait_timeout"`
}

// Stream describes how a Kafka record becomes a Redis stream entry.
type Stream struct {
	// Key is the stream key template: {topic} {partition} {key} {header:NAME}.
	Key string `koanf:"key"`
	// FallbackKey receives records whose Key template cannot be resolved;
	// empty makes that a per-record error.
	FallbackKey string `koanf:"fallback_key"`
	// Format is raw (value stored as is) or json (top-level object fields
	// become entry fields); avro, protobuf and json_schema decode the
	// Confluent wire format through schema_registry into fields as json does.
	Format string `koanf:"format"`
	// KeyFormat is raw, or avro, protobuf or json_schema: the key field
	// then holds the decoded key as JSON text (a string as its text).
	KeyFormat     string `koanf:"key_format"`
	ValueField    string `koanf:"value_field"`
	KeyField      string `koanf:"key_field"`
	HeadersPrefix string `koanf:"headers_prefix"`
	// Metadata lists extra fields: topic, partition, offset, timestamp.
	Metadata      []string `koanf:"metadata"`
	MaxLen        int64    `koanf:"max_len"`
	ApproxTrim    bool     `koanf:"approx_trim"`
	MaxEntryBytes int      `koanf:"max_entry_bytes"`
	// ID is the entry ID: "*" (Redis picks), "{timestamp}-*" (the record's
	// timestamp in ms, Redis's sequence), "{key}" or "{header:NAME}" (an
	// explicit ms-seq ID taken from the record).
	ID string `koanf:"id"`
	// MaxAge > 0 trims entries older than it (MINID now-MaxAge).
	MaxAge time.Duration `koanf:"max_age"`
	// TTL > 0 sets the stream key's expiry, refreshed by every write.
	TTL time.Duration `koanf:"ttl"`
	// Tombstones decides what a record with a null value does: skip, entry
	// (an entry with a tombstone marker instead of the value) or delete
	// (DEL its stream).
	Tombstones string `koanf:"tombstones"`
}

// Batch bounds a batch of records written in one pipelined round trip.
type Batch struct {
	// MaxEvents is the most records in one batch; 0 (the default) lets the
	// connector choose, between AdaptiveMinEvents and AdaptiveMaxEvents,
	// from how full its batches are and how long their round trips take.
	MaxEvents int `koanf:"max_events"`
	// MaxBytes is the most bytes of records in one batch; 0 (the default)
	// lets the connector choose, between 1 and 4 MiB, as for MaxEvents.
	MaxBytes int           `koanf:"max_bytes"`
	Timeout  time.Duration `koanf:"timeout"`
	// MaxInFlight is how many flushes may be in flight at once; 0 (the
	// default) lets the connector choose, up to AdaptiveMaxInFlight.
	MaxInFlight int `koanf:"max_in_flight"`
	// MaxBufferedBytes bounds the bytes of records the connector holds
	// (batches waiting, failed and in flight); fetching pauses at it, so
	// memory is bounded in bytes, not only in records.
	MaxBufferedBytes int `koanf:"max_buffered_bytes"`
}

// CircuitBreaker guards Redis writes.
type CircuitBreaker struct {
	FailureThreshold uint          `koanf:"failure_threshold"`
	Recovery         time.Duration `koanf:"recovery"`
	SuccessThreshold uint          `koanf:"success_threshold"`
}

// Retry bounds the retries of one failed flush.
type Retry struct {
	MaxAttempts    int           `koanf:"max_attempts"`
	InitialBackoff time.Duration `koanf:"initial_backoff"`
	MaxBackoff     time.Duration `koanf:"max_backoff"`
}

// Errors decides what happens to a record Redis can never accept.
type Errors struct {
	// Policy is fail, dlq or skip; empty means dlq when DLQTopic is set,
	// else fail.
	Policy   ErrorPolicy `koanf:"policy"`
	DLQTopic string      `koanf:"dlq_topic"`
}

// HTTP configures the metrics and health server.
type HTTP struct {
	Listen string `koanf:"listen"`
}

// Log configures the structured logger.
type Log struct {
	Level  string `koanf:"level"`
	Format string `koanf:"format"`
}

// Default returns the configuration used when nothing overrides a key. Its
// batch size (in records and in bytes) and flushes in flight are 0: the
// connector adapts them (see
// the connector package's Adaptive* limits); a batch waits 100 ms at most,
// and the breaker follows the seed: open after 5 failures for 30 s.
func Default() Config {
	return Config{
		Kafka: Kafka{
			Brokers:          []string{"127.0.0.1:9092"},
			Group:            "kafka-redis-connector",
			Topics:           []string{"events"},
			StartOffset:      "earliest",
			ClientID:         "kafka-redis-connector",
			SessionTimeout:   45 * time.Second,
			RebalanceTimeout: 60 * time.Second,
			FetchMaxBytes:    50 << 20,
			FetchBufferBytes: 8 << 20,
			TopicsExclude:    []string{},
		},
		Redis: Redis{
			Addrs:        []string{"127.0.0.1:6379"},
			Mode:         "standalone",
			DialTimeout:  5 * time.Second,
			ReadTimeout:  3 * time.Second,
			WriteTimeout: 3 * time.Second,
			WaitTimeout:  100 * time.Millisecond,
		},
		Stream: Stream{
			Key:           "{topic}",
			Format:        "raw",
			KeyFormat:     "raw",
			ValueField:    "value",
			KeyField:      "key",
			Metadata:      []string{"topic", "partition", "offset", "timestamp"},
			ApproxTrim:    true,
			MaxEntryBytes: 1 << 20,
			ID:            "*",
			Tombstones:    "skip",
		},
		SchemaRegistry: defaultSchemaRegistry(),
		Encryption:     defaultEncryption(),
		Batch: Batch{
			MaxEvents:   0, // adaptive
			MaxBytes:    0, // adaptive
			Timeout:     100 * time.Millisecond,
			MaxInFlight: 0, // adaptive
			// 64 MiB keeps peak RSS under 256 MiB with 1 MiB records.
			MaxBufferedBytes: 64 << 20,
		},
		CircuitBreaker: CircuitBreaker{
			FailureThreshold: 5,
			Recovery:         30 * time.Second,
			SuccessThreshold: 1,
		},
		Retry: Retry{
			MaxAttempts:    3,
			InitialBackoff: 100 * time.Millisecond,
			MaxBackoff:     5 * time.Second,
		},
		FlushTimeout:    5 * time.Second,
		HTTP:            HTTP{Listen: ":8080"},
		Log:             Log{Level: "info", Format: "json"},
		ShutdownTimeout: 30 * time.Second,
		Delivery:        Delivery{Guarantee: AtLeastOnce},
	}
}

// EffectivePolicy resolves an empty errors.policy: dlq when a dead-letter
// topic is set, else fail.
func (e Errors) EffectivePolicy() ErrorPolicy {
	if e.Policy != "" {
		return e.Policy
	}
	if e.DLQTopic != "" {
		return PolicyDLQ
	}
	return PolicyFail
}
