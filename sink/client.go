package sink

import (
	"context"
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
//
// A cluster client has a second retry loop that MaxRetries does not reach:
// within MaxRedirects attempts it sends a pipeline to its node again after a
// connection error (the replies unread, so the commands may have been
// applied) and, when the first reply is LOADING, READONLY, CLUSTERDOWN,
// TRYAGAIN, MASTERDOWN or "max number of clients", the whole node's part of
// the pipeline again, including the commands after it that succeeded. Both
// duplicate and reorder entries the connector never hears of. The same loop
// follows MOVED and ASK replies, which are needed during a resharding and
// safe: such a command was not applied. So the loop stays (MaxRedirects
// below bounds the redirects of one pipeline), and noResendHook marks every
// command of a cluster pipeline as one go-redis must not re-send for any
// other reason; such a failure is returned to the connector's retry policy.
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
		opts.MaxRedirects = clusterMaxRedirects
		c := redis.NewClusterClient(opts.Cluster())
		c.AddHook(noResendHook{})
		return c, nil
	case "sentinel":
		// A failover client finds the master through the sentinels at each
		// dial and closes its pooled connections on +switch-master; the
		// Writer therefore uses go-redis pipelines for it (see directFor).
		opts.MasterName = cfg.MasterName
		return redis.NewFailoverClient(opts.Failover()), nil
	default:
		return nil, fmt.Errorf("sink: unknown redis mode %q", cfg.Mode)
	}
}

// clusterMaxRedirects bounds the MOVED/ASK redirects go-redis follows for one
// pipeline (its default is 3). A slot being migrated answers ASK, then, once
// the migration ends, MOVED: a few hops cover a live resharding; beyond them
// the error goes to the connector's retry policy.
const clusterMaxRedirects = 5

// noResendHook makes go-redis's cluster client follow only MOVED and ASK
// replies: it marks each command of a pipeline NoRetry, which go-redis checks
// before it re-sends a pipeline for any other reason (connection errors,
// LOADING, READONLY, CLUSTERDOWN ... replies). Single commands (PING) are
// left alone: sending them again is harmless.
type noResendHook struct{}

func (noResendHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (noResendHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }

func (noResendHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		marked := make([]redis.Cmder, len(cmds))
		for i, cmd := range cmds {
			marked[i] = noResend{cmd}
		}
		return next(ctx, marked)
	}
}

// noResend is a command go-redis must not send again by itself. Its replies
// and errors land in the wrapped command, which the caller reads.
type noResend struct{ redis.Cmder }

func (noResend) NoRetry() bool { return true }
