package bench

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
)

// The ceiling's second measurement: redis-benchmark, Redis's own load
// generator, XADDing one of the backlog's entries (same stream, fields and
// value size) as many times as the backlog has records. Every entry is the
// same, which costs Redis no less than distinct ones.
const (
	redisBenchmarkConns    = 4
	redisBenchmarkPipeline = 1000
)

func redisBenchmarkArgs(addr string, entry []any, n int64, conns, pipeline int) ([]string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("bench: redis-benchmark: %w", err)
	}
	args := []string{"-h", host, "-p", port, "-n", strconv.FormatInt(n, 10), "-c", strconv.Itoa(conns),
		"-P", strconv.Itoa(pipeline), "--csv"}
	for _, a := range entry {
		switch v := a.(type) {
		case string:
			args = append(args, v)
		case []byte:
			args = append(args, string(v))
		default:
			return nil, fmt.Errorf("bench: redis-benchmark: cannot pass a %T argument", a)
		}
	}
	return args, nil
}

// parseRedisBenchmarkCSV returns the requests per second of the last test
// in redis-benchmark's --csv output. Its first column is the command line,
// which may hold anything, so the rps column is found counting from the
// end, by the header.
func parseRedisBenchmarkCSV(out []byte) (float64, error) {
	var header, last []string
	for _, line := range bytes.Split(out, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) < 2 || line[0] != '"' {
			continue
		}
		fields := strings.Split(strings.Trim(string(line), `"`), `","`)
		if fields[0] == "test" {
			header = fields
			continue
		}
		last = fields
	}
	col := -1
	for i, h := range header {
		if h == "rps" {
			col = i
		}
	}
	if col < 0 || last == nil || len(last) < len(header) {
		return 0, fmt.Errorf("bench: redis-benchmark: no rps in its output %q", out)
	}
	rps, err := strconv.ParseFloat(last[len(last)-(len(header)-col)], 64)
	if err != nil {
		return 0, fmt.Errorf("bench: redis-benchmark: %w", err)
	}
	return rps, nil
}

// redisBenchmarkCeiling runs redis-benchmark on the first of the entries
// and returns its rate as a measurement.
func (e *env) redisBenchmarkCeiling(ctx context.Context, entry []any, stream string) (Measurement, error) {
	args, err := redisBenchmarkArgs(e.cfg.RedisAddr, entry, e.cfg.Records, redisBenchmarkConns, redisBenchmarkPipeline)
	if err != nil {
		return Measurement{}, err
	}
	out, err := exec.CommandContext(ctx, e.cfg.RedisBenchmark, args...).Output()
	if err != nil {
		return Measurement{}, fmt.Errorf("bench: redis-benchmark: %w", err)
	}
	rps, err := parseRedisBenchmarkCSV(out)
	if err != nil {
		return Measurement{}, err
	}
	if n, err := e.rdb.XLen(ctx, stream).Result(); err != nil || n != e.cfg.Records {
		return Measurement{}, fmt.Errorf("bench: redis-benchmark: stream %s holds %d entries, want %d (%v)", stream, n, e.cfg.Records, err)
	}
	m := Measurement{Name: "ceiling/redis-benchmark", Records: e.cfg.Records, EventsPerSec: rps,
		MBPerSec: rps * float64(e.cfg.ValueBytes) / 1e6, Seconds: float64(e.cfg.Records) / rps}
	return m, e.rdb.Unlink(ctx, stream).Err()
}
