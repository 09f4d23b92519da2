//go:build unix

package sink

import (
	"syscall"
	"time"
)

// processCPU is the CPU time this process used so far (user and system),
// for benchmarks on a shared machine: unlike wall time it does not count
// the time other processes held the cores.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
