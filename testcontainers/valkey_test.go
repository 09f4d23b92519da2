//go:build integration

package testcontainers

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestValkey runs the core scenarios (basic, SIGKILL restart, server
// restart, poison records) against the real Valkey 8.1 server that
// scripts/services.sh starts (VALKEY_ADDR), as they run against redis-server:
// the same tests, with the suite's Redis endpoint pointed at Valkey for
// their duration. The oracle lines carry "[valkey]".
func TestValkey(t *testing.T) {
	addr := needEndpoint(t, "VALKEY_ADDR")
	checkValkey(t, addr)
	old := svc
	svc.redisAddr, svc.redisControl, svc.redisLabel = addr, "valkey", "[valkey]"
	// The suite runs its tests one after another: no other test sees svc
	// changed meanwhile.
	t.Cleanup(func() { svc = old })

	t.Run("basic", TestBasic)
	t.Run("sigkill_restart", TestSigkillRestart)
	t.Run("server_restart", TestRedisRestart)
	t.Run("poison_records", TestFaultPoisonRecords)
}

// checkValkey makes sure addr is a Valkey server, so the scenarios do not
// pass against a redis-server by mistake.
func checkValkey(t *testing.T, addr string) {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	info, err := rdb.Info(ctx, "server").Result()
	if err != nil {
		t.Fatalf("valkey at %s: INFO server: %v", addr, err)
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "valkey_version:"); ok {
			t.Logf("valkey %s at %s", v, addr)
			return
		}
	}
	t.Fatalf("%s is no Valkey server: INFO server has no valkey_version", addr)
}
