package bench

import (
	"time"

	"github.com/kafka-redis-connector/kafka-redis-connector/internal/cputime"
)

// cpuTime is the CPU time (user + system) this process used so far; 0
// where the system does not say.
func cpuTime() time.Duration { return cputime.Process() }
