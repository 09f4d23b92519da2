package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
	"github.com/kafka-redis-connector/kafka-redis-connector/loadgen"
)

// env is what every phase of a run shares: the Kafka cluster (embedded or
// external), an admin/producer client, the Redis client, and the names this
// run created, for cleanup.
type env struct {
	cfg      Config
	brokers  []string
	embedded *kfake.Cluster
	admin    *kgo.Client
	rdb      *redis.Client
	id       string
	topics   []string
	groups   []string
	log      io.Writer
}

func newEnv(ctx context.Context, cfg Config) (*env, error) {
	e := &env{cfg: cfg, brokers: cfg.Brokers, log: cfg.Log,
		id: "bench-" + strconv.FormatInt(time.Now().UnixNano()%(1<<40), 36)}
	if e.log == nil {
		e.log = io.Discard
	}
	e.rdb = redis.NewClient(&redis.Options{Addr: cfg.RedisAddr, MaxRetries: -1})
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	err := e.rdb.Ping(pctx).Err()
	cancel()
	if err != nil {
		e.rdb.Close()
		return nil, fmt.Errorf("%w at %s (start one with `make services-up`, or pass --redis-addr): %v", ErrNoRedis, cfg.RedisAddr, err)
	}
	if len(e.brokers) == 0 {
		if e.embedded, err = kfake.NewCluster(kfake.NumBrokers(1)); err != nil {
			e.rdb.Close()
			return nil, fmt.Errorf("bench: embedded kafka: %w", err)
		}
		e.brokers = e.embedded.ListenAddrs()
	}
	e.admin, err = kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(e.brokers...)}, loadgen.ClientOpts(5*time.Millisecond)...)...)
	if err != nil {
		e.close(ctx)
		return nil, fmt.Errorf("bench: kafka client: %w", err)
	}
	return e, nil
}

// close deletes the run's topics and streams and closes the clients.
func (e *env) close(ctx context.Context) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if e.admin != nil {
		if len(e.topics) > 0 && e.embedded == nil {
			if err := loadgen.DeleteTopics(cctx, e.admin, e.topics...); err != nil {
				fmt.Fprintf(e.log, "bench: cleanup: %v\n", err)
			}
		}
		if len(e.groups) > 0 && e.embedded == nil {
			if _, err := kadm.NewClient(e.admin).DeleteGroups(cctx, e.groups...); err != nil {
				fmt.Fprintf(e.log, "bench: cleanup: delete groups: %v\n", err)
			}
		}
		e.admin.Close()
	}
	if e.rdb != nil {
		if err := e.dropStreams(cctx, e.id+"*"); err != nil {
			fmt.Fprintf(e.log, "bench: cleanup: %v\n", err)
		}
		e.rdb.Close()
	}
	if e.embedded != nil {
		e.embedded.Close()
	}
}

// dropStreams unlinks the keys matching pattern (a run's streams all start
// with its id).
func (e *env) dropStreams(ctx context.Context, pattern string) error {
	iter := e.rdb.Scan(ctx, 0, pattern, 1000).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		return fmt.Errorf("bench: scan %s: %w", pattern, err)
	}
	if len(keys) == 0 {
		return nil
	}
	return e.rdb.Unlink(ctx, keys...).Err()
}

func (e *env) topic(suffix string) string {
	if suffix == "" {
		return e.id
	}
	return e.id + "-" + suffix
}

// createTopic creates a topic of this run with the given partitions.
func (e *env) createTopic(ctx context.Context, name string, partitions int32) error {
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	got, _, err := loadgen.EnsureTopic(tctx, e.admin, name, partitions)
	if err != nil {
		return err
	}
	e.topics = append(e.topics, name)
	if got != partitions {
		return fmt.Errorf("bench: topic %s has %d partitions, want %d", name, got, partitions)
	}
	return nil
}

// deleteTopic deletes a topic of this run before the run ends, to give the
// broker its memory back.
func (e *env) deleteTopic(ctx context.Context, name string) error {
	if e.embedded != nil {
		return nil
	}
	if err := loadgen.DeleteTopics(ctx, e.admin, name); err != nil {
		return err
	}
	for i, t := range e.topics {
		if t == name {
			e.topics = append(e.topics[:i], e.topics[i+1:]...)
			break
		}
	}
	return nil
}

// produce sends records to topic with a loadgen Generator: count records
// as fast as Kafka takes them (rate 0), or rate events/s for dur.
func (e *env) produce(ctx context.Context, gc loadgen.Config, linger time.Duration) (*loadgen.Generator, error) {
	gen, err := loadgen.New(gc)
	if err != nil {
		return nil, err
	}
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(e.brokers...)}, loadgen.ClientOpts(linger)...)...)
	if err != nil {
		return nil, fmt.Errorf("bench: producer: %w", err)
	}
	defer cl.Close()
	done := make(chan error, 1)
	go func() { done <- gen.Run(ctx, cl) }()
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		select {
		case err := <-done:
			p := gen.Progress()
			if err == nil && p.Failed > 0 {
				err = fmt.Errorf("bench: %d of %d records not acknowledged by kafka: %w", p.Failed, p.Sent, p.FirstErr)
			}
			return gen, err
		case <-t.C:
			if gc.Rate == 0 {
				fmt.Fprintf(e.log, "bench:   preload %s\n", gen.Progress().Line())
			}
		}
	}
}

// group returns the consumer group name for a contender and remembers it
// for cleanup.
func (e *env) group(name string) string {
	g := e.id + "-" + name
	if !slices.Contains(e.groups, g) {
		e.groups = append(e.groups, g)
	}
	return g
}

// connectorConfig is the connector's configuration for a contender: the
// defaults, this run's Kafka and Redis, one group per contender, and
// streams named "<topic>:<contender>".
func (e *env) connectorConfig(name string, batch config.Batch, topics []string) (config.Config, error) {
	cfg := config.Default()
	cfg.Kafka.Brokers = e.brokers
	cfg.Kafka.Group = e.group(name)
	cfg.Kafka.Topics = topics
	cfg.Kafka.ClientID = e.id
	cfg.Redis.Addrs = []string{e.cfg.RedisAddr}
	cfg.Stream.Key = "{topic}:" + name
	cfg.HTTP.Listen = ""
	cfg.Batch = batch
	cfg.ShutdownTimeout = 30 * time.Second
	return cfg, cfg.Validate()
}

// wait polls cond every interval until it holds, ctx ends, timeout passes
// or failed delivers an error.
func wait(ctx context.Context, what string, every, timeout time.Duration, failed <-chan error, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	t := time.NewTicker(every)
	defer t.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("bench: %s: timed out after %s", what, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-failed:
			if err == nil {
				err = errors.New("stopped early")
			}
			return fmt.Errorf("bench: %s: %w", what, err)
		case <-t.C:
		}
	}
	return nil
}
