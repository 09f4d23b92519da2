package main

import (
	"log/slog"
	"runtime/debug"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
	"github.com/kafka-redis-connector/kafka-redis-connector/connector"
)

// setMemoryLimit gives the Go runtime a soft memory limit of
// connector.MemoryBound(cfg) less the executable's pages, unless GOMEMLIMIT (gomemlimit, the value of
// the variable) already set one; it returns the limit in force. Without a
// limit the heap grows to twice what is live (GOGC=100) before a
// collection, so RSS would be about twice the bound at a full drain; with
// it the collector runs earlier as the heap nears the bound, and the
// process stays near what it holds.
func setMemoryLimit(cfg config.Config, gomemlimit string, log *slog.Logger) int64 {
	if gomemlimit != "" {
		limit := debug.SetMemoryLimit(-1) // -1 reads it
		log.Info("memory limit from GOMEMLIMIT", "GOMEMLIMIT", gomemlimit, "bytes", limit)
		return limit
	}
	limit := connector.MemoryBound(cfg) - connector.ExecutableBytes
	debug.SetMemoryLimit(limit)
	log.Info("memory limit set from the configuration (GOMEMLIMIT overrides it)", "bytes", limit)
	return limit
}
