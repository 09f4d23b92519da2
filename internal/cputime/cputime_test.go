//go:build unix

package cputime_test

import (
	"crypto/sha256"
	"testing"

	"github.com/kafka-redis-connector/kafka-redis-connector/internal/cputime"
)

func TestProcessGrowsWithBusyWork(t *testing.T) {
	before := cputime.Process()
	// About 0.1 s of CPU on one core: far above the counter's resolution
	// (microseconds, scheduler ticks at worst).
	buf := make([]byte, 1<<20)
	var sum [32]byte
	for range 64 {
		sum = sha256.Sum256(buf)
		buf[0] = sum[0]
	}
	after := cputime.Process()
	if before <= 0 {
		t.Errorf("before the work: got %s, want a positive CPU time (the test binary has started up)", before)
	}
	if after <= before {
		t.Errorf("after 64 MiB of SHA-256: got %s, want more than %s", after, before)
	}
}
