package sink

import (
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
)

// NewClient builds the Redis client for the configured mode (standalone,
// cluster or sentinel).
//
// go-redis retries a failed pipeline by itself (MaxRetries, 3 by default).
// That would resend XADDs that may already have been applied, behind the
// back of the connector's retry policy and circuit breaker, so it is turned
// off: the connector alone decides when a batch is sent again.
func NewClient(cfg config.Redis) (redis.UniversalClient, error) {
	password, err := config.ReadSecret(cfg.Password, cfg.PasswordFile)
	if err != nil {
		return nil, fmt.Errorf("sink: redis password: %w", err)
	}
	opts := &redis.UniversalOptions{
		Addrs:        cfg.Addrs,
		DB:           cfg.DB,
		Username:     cfg.Username,
		Password:     password,
		DialTimeout:  cfg.DialTimeout,
		ReadTimeout:  cfg.ReadTimeout,
		WriteTimeout: cfg.WriteTimeout,
		PoolSize:     cfg.PoolSize,
		MaxRetries:   -1,
		// The flush timeout bounds a pipeline; the socket timeouts above
		// bound each read and write within it.
		ContextTimeoutEnabled: true,
	}
	if cfg.TLS.Enabled {
		if opts.TLSConfig, err = cfg.TLS.ClientConfig(); err != nil {
			return nil, fmt.Errorf("sink: redis tls: %w", err)
		}
	}
	switch cfg.Mode {
	case "standalone", "":
		if len(cfg.Addrs) > 0 {
			opts.Addrs = cfg.Addrs[:1]
		}
		return redis.NewClient(opts.Simple()), nil
	case "cluster":
		return redis.NewClusterClient(opts.Cluster()), nil
	case "sentinel":
		opts.MasterName = cfg.MasterName
		return redis.NewFailoverClient(opts.Failover()), nil
	default:
		return nil, fmt.Errorf("sink: unknown redis mode %q", cfg.Mode)
	}
}
