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

// hostCPU is the machine's CPU time, from the first line of /proc/stat:
// busy (everything but idle and iowait) and total, in ticks.
type hostCPU struct{ busy, total uint64 }

// parseHostCPU reads the aggregate "cpu" line of /proc/stat.
func parseHostCPU(b []byte) (hostCPU, error) {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := bytes.Fields(line)
	if len(f) < 5 || string(f[0]) != "cpu" {
		return hostCPU{}, fmt.Errorf("bench: /proc/stat: first line %q is not the cpu line", line)
	}
	var h hostCPU
	for i, s := range f[1:] {
		n, err := strconv.ParseUint(string(s), 10, 64)
		if err != nil {
			return hostCPU{}, fmt.Errorf("bench: /proc/stat: %w", err)
		}
		// guest and guest_nice (fields 9 and 10) are already in user and nice.
		if i >= 8 {
			break
		}
		h.total += n
		if i != 3 && i != 4 { // idle, iowait
			h.busy += n
		}
	}
	return h, nil
}

// readHostCPU reads /proc/stat; on other systems it fails.
func readHostCPU() (hostCPU, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return hostCPU{}, fmt.Errorf("bench: host CPU: %w", err)
	}
	return parseHostCPU(b)
}

// busyShare is the share of the machine's CPU time between a and b that
// was busy (0 when nothing was counted).
func busyShare(a, b hostCPU) float64 {
	if b.total <= a.total {
		return 0
	}
	return float64(b.busy-a.busy) / float64(b.total-a.total)
}
