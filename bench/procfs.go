package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"time"
)

// clockTick is the unit of the CPU times in /proc/<pid>/stat (USER_HZ,
// 100 on every Linux architecture Go supports).
const clockTick = 10 * time.Millisecond

// parseStatCPU returns utime + stime from the contents of /proc/<pid>/stat.
// The command name (field 2) is in parentheses and may hold spaces, so the
// fields are counted from the last ')'.
func parseStatCPU(b []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("bench: /proc stat: no command name in %q", b)
	}
	// After ')': state is field 3, utime field 14, stime field 15.
	f := bytes.Fields(b[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("bench: /proc stat: %d fields after the command name, want at least 13", len(f))
	}
	var ticks uint64
	for _, s := range f[11:13] {
		n, err := strconv.ParseUint(string(s), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("bench: /proc stat: %w", err)
		}
		ticks += n
	}
	return time.Duration(ticks) * clockTick, nil
}

// statusKB returns the value of a "Key:   1234 kB" line of
// /proc/<pid>/status in bytes, and whether it was there.
func statusKB(b []byte, key string) (uint64, bool) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		rest, ok := bytes.CutPrefix(sc.Bytes(), []byte(key+":"))
		if !ok {
			continue
		}
		f := bytes.Fields(rest)
		if len(f) == 0 {
			return 0, false
		}
		kb, err := strconv.ParseUint(string(f[0]), 10, 64)
		return kb << 10, err == nil
	}
	return 0, false
}

// procUsage is a process's CPU time so far and its current and peak RSS,
// from /proc (Linux).
type procUsage struct {
	cpu       time.Duration
	rss, peak uint64
}

func readProcUsage(pid int) (procUsage, error) {
	dir := "/proc/" + strconv.Itoa(pid) + "/"
	st, err := os.ReadFile(dir + "stat")
	if err != nil {
		return procUsage{}, fmt.Errorf("bench: child CPU time: %w", err)
	}
	var u procUsage
	if u.cpu, err = parseStatCPU(st); err != nil {
		return u, err
	}
	status, err := os.ReadFile(dir + "status")
	if err != nil {
		return u, fmt.Errorf("bench: child RSS: %w", err)
	}
	u.rss, _ = statusKB(status, "VmRSS")
	u.peak, _ = statusKB(status, "VmHWM")
	return u, nil
}
