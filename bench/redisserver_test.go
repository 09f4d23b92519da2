package bench_test

import (
	"context"
	"errors"
	"os/exec"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/kafka-redis-connector/kafka-redis-connector/bench"
)

func TestStartRedisServer(t *testing.T) {
	t.Run("missing executable", func(t *testing.T) {
		if _, err := bench.StartRedisServer(context.Background(), "no-such-redis-server"); !errors.Is(err, bench.ErrNoRedisServer) {
			t.Fatalf("got %v, want %v", err, bench.ErrNoRedisServer)
		}
	})
	t.Run("starts, answers and stops", func(t *testing.T) {
		if _, err := exec.LookPath("redis-server"); err != nil {
			t.Skip("no redis-server on PATH")
		}
		ctx := context.Background()
		srv, err := bench.StartRedisServer(ctx, "redis-server")
		if err != nil {
			t.Fatalf("start: %v", err)
		}
		rdb := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1})
		defer rdb.Close()
		if err := rdb.Ping(ctx).Err(); err != nil {
			t.Errorf("ping %s: %v", srv.Addr, err)
		}
		if err := srv.Stop(); err != nil {
			t.Fatalf("stop: %v", err)
		}
		if err := rdb.Ping(ctx).Err(); err == nil {
			t.Errorf("ping after stop: got an answer, want none")
		}
	})
}
