package main

import (
	"io"
	"log/slog"
	"math"
	"runtime/debug"
	"testing"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
	"github.com/kafka-redis-connector/kafka-redis-connector/connector"
)

func TestSetMemoryLimit(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := config.Default()

	debug.SetMemoryLimit(math.MaxInt64)
	want := connector.MemoryBound(cfg) - connector.ExecutableBytes
	if got := setMemoryLimit(cfg, "", log); got != want || debug.SetMemoryLimit(-1) != want {
		t.Errorf("without GOMEMLIMIT: got %d (runtime %d), want %d", got, debug.SetMemoryLimit(-1), want)
	}

	const fromEnv = 300 << 20 // as the runtime would have read GOMEMLIMIT=300MiB
	debug.SetMemoryLimit(fromEnv)
	if got := setMemoryLimit(cfg, "300MiB", log); got != fromEnv || debug.SetMemoryLimit(-1) != fromEnv {
		t.Errorf("with GOMEMLIMIT: got %d (runtime %d), want %d left as it is", got, debug.SetMemoryLimit(-1), int64(fromEnv))
	}
}
