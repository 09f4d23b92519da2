//go:build unix

package bench

import (
	"os"
	"runtime"
	"runtime/debug"
	"syscall"
)

// resetPeakRSS returns freed memory to the OS and resets the kernel's peak
// RSS mark (Linux: "5" > /proc/self/clear_refs), so the next peakRSS covers
// only what follows. It reports whether the mark could be reset.
func resetPeakRSS() bool {
	runtime.GC()
	debug.FreeOSMemory()
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}

// peakRSS is the process's peak resident set size in bytes: VmHWM from
// /proc/self/status, else getrusage's maxrss.
func peakRSS() uint64 {
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		if n, ok := statusKB(b, "VmHWM"); ok {
			return n
		}
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	if runtime.GOOS == "darwin" {
		return uint64(ru.Maxrss)
	}
	return uint64(ru.Maxrss) << 10
}
