package redisfault_test

import (
	"context"
	"strings"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/kafka-redis-connector/kafka-redis-connector/internal/redisfault"
)

// The outage refuses a transaction whole when it ends after the MULTI, and
// serves one whole when it begins after it; miniredis's SetError applies
// the commands sent after it was cleared (this test fails with it).
func TestOutageDecidesPerTransaction(t *testing.T) {
	mr := miniredis.RunT(t)
	o := redisfault.New(mr)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr(), MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })
	ctx := context.Background()
	conn := rdb.Conn()
	t.Cleanup(func() { _ = conn.Close() })
	do := func(args ...any) error { return conn.Do(ctx, args...).Err() }

	o.Down("LOADING Redis is loading the dataset in memory")
	if err := do("multi"); err == nil || !strings.HasPrefix(err.Error(), "LOADING") {
		t.Fatalf("MULTI while down: got %v, want LOADING", err)
	}
	_ = do("xadd", "s", "*", "n", "1")
	o.Up()
	for _, args := range [][]any{{"xadd", "s", "*", "n", "2"}, {"exec"}} {
		if err := do(args...); err == nil {
			t.Errorf("%v in a transaction whose MULTI was refused: got nil, want an error", args[0])
		}
	}
	if n := conn.XLen(ctx, "s").Val(); n != 0 {
		t.Errorf("after the refused transaction: stream holds %d entries, want 0", n)
	}

	if err := do("multi"); err != nil {
		t.Fatalf("MULTI while up: %v", err)
	}
	_ = do("xadd", "s", "*", "n", "3")
	o.Down("LOADING Redis is loading the dataset in memory")
	_ = do("xadd", "s", "*", "n", "4")
	if err := do("exec"); err != nil {
		t.Fatalf("EXEC of a transaction begun before the outage: %v", err)
	}
	o.Up()
	if n := conn.XLen(ctx, "s").Val(); n != 2 {
		t.Errorf("after the served transaction: stream holds %d entries, want 2", n)
	}
	o.Down("LOADING Redis is loading the dataset in memory")
	if err := do("ping"); err == nil {
		t.Errorf("PING outside a transaction while down: got nil, want LOADING")
	}
}
