package connector_test

import (
	"time"

	"github.com/kafka-redis-connector/kafka-redis-connector/internal/cputime"
)

// processCPU is the CPU time this process used so far, for benchmarks on a
// shared machine (0 where unknown: they report wall time only).
func processCPU() time.Duration { return cputime.Process() }
