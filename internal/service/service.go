package service

import (
	"context"
	"log/slog"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
	"github.com/kafka-redis-connector/kafka-redis-connector/connector"
	"github.com/kafka-redis-connector/kafka-redis-connector/internal/preflight"
	"github.com/kafka-redis-connector/kafka-redis-connector/internal/schemaregistry"
	"github.com/kafka-redis-connector/kafka-redis-connector/sink"
)

// ConfigError is a configuration Build cannot wire (a stream mapping the
// writer refuses, an encryption key that cannot be used): the CLI exits 2
// on it. Its message is the cause's.
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// Option configures what Build adds to the service.
type Option func(*options)

type options struct {
	connOpts []connector.Option
	version  string
}

// WithConnectorOpts adds connector options after the ones Build sets
// (logger, registerer, Kafka security and client metrics).
func WithConnectorOpts(opts ...connector.Option) Option {
	return func(o *options) { o.connOpts = append(o.connOpts, opts...) }
}

// WithVersion names the build in the start-up log line.
func WithVersion(v string) Option { return func(o *options) { o.version = v } }

// Service is the connector wired as it runs in production: the Redis
// client and writer (with the schema registry decoder and the sealer the
// configuration asks for), the Kafka client options, the connector, its
// metrics and the HTTP endpoints.
type Service struct {
	// Connector is the pipeline; Run runs it.
	Connector *connector.Connector

	cfg     config.Config
	log     *slog.Logger
	reg     *prometheus.Registry
	rdb     redis.UniversalClient
	w       *sink.Writer
	kopts   []kgo.Opt // kafka.tls and kafka.sasl, for the start-up check
	version string
}

// Build wires the service for cfg, which must be valid. Metrics go to reg,
// which also serves /metrics. Build connects to nothing: go-redis dials on
// first use, and the Kafka client is made by Run. Close releases what it
// built.
func Build(cfg config.Config, log *slog.Logger, reg *prometheus.Registry, opts ...Option) (*Service, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if cfg.Kafka.TLS.InsecureSkipVerify || cfg.Redis.TLS.InsecureSkipVerify {
		log.Warn("TLS certificate verification is disabled (insecure_skip_verify): connections can be intercepted")
	}
	rdb, err := sink.NewClient(cfg.Redis)
	if err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, log: log, reg: reg, rdb: rdb, version: o.version}
	fail := func(err error) (*Service, error) {
		s.Close()
		return nil, err
	}
	wopts, err := encryptionOpts(cfg.Encryption)
	if err != nil {
		return fail(err)
	}
	if cfg.Stream.UsesSchemaRegistry() {
		sreg, err := schemaregistry.New(cfg.SchemaRegistry, schemaregistry.WithRegisterer(reg))
		if err != nil {
			return fail(err)
		}
		wopts = append(wopts, sink.WithSchemaRegistry(sreg))
	}
	wopts = append(wopts, sink.WithReplicaAcks(cfg.Redis.WaitReplicas, cfg.Redis.WaitTimeout))
	if cfg.Delivery.ExactlyOnce() {
		wopts = append(wopts, sink.WithExactlyOnce())
	}
	if s.w, err = sink.NewWriter(rdb, cfg.Stream, wopts...); err != nil {
		return fail(&ConfigError{err})
	}
	if s.kopts, err = connector.SecurityOpts(cfg.Kafka); err != nil {
		return fail(err)
	}
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	copts := append([]connector.Option{
		connector.WithLogger(log),
		connector.WithRegisterer(reg),
		connector.WithKafkaOpts(s.kopts...),
		connector.WithKafkaOpts(connector.KafkaMetrics(reg)...),
	}, o.connOpts...)
	s.Connector = connector.New(cfg, s.w, copts...)
	return s, nil
}

// Check runs the start-up check (internal/preflight) against the
// configured Redis and Kafka: a definite rejection is an error.
func (s *Service) Check(ctx context.Context) error {
	return preflight.Check(ctx, s.cfg, s.rdb, s.kopts, s.log)
}

// Run serves the HTTP endpoints (unless http.listen is empty) and runs the
// connector until ctx ends and it has shut down; see connector.Run.
func (s *Service) Run(ctx context.Context) error {
	redacted, _ := s.cfg.Redacted().YAML()
	s.log.Info("starting kafka-redis-connector", "version", s.version,
		"config", strings.TrimSpace(string(redacted)))
	if s.cfg.HTTP.Listen != "" {
		stop, err := s.serveHTTP()
		if err != nil {
			return err
		}
		defer stop()
	}
	if s.cfg.Delivery.ExactlyOnce() {
		// Writes load it where it is missing (NOSCRIPT); this spares the
		// first batches that round trip.
		if err := sink.LoadScript(ctx, s.rdb); err != nil {
			s.log.Warn("exactly-once script not preloaded; writes will load it", "error", err)
		}
	}
	return s.Connector.Run(ctx)
}

// Redis is the service's Redis client.
func (s *Service) Redis() redis.UniversalClient { return s.rdb }

// Close closes the writer and the Redis client. Call it after Run returned.
func (s *Service) Close() {
	if s.w != nil {
		s.w.Close()
	}
	s.rdb.Close()
}
