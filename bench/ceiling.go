package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The ceiling: the backlog's XADDs, encoded as RESP once beforehand, written
// over several connections as fast as Redis answers them. Nothing is
// encoded, mapped or fetched while the clock runs, so what it measures is
// Redis itself (and loopback): the rate no forwarder can exceed. raw, by
// contrast, is one go-redis pipeline at a time and measures go-redis.
const (
	// ceilingPipeline is the number of XADDs per write.
	ceilingPipeline = 1000
	// ceilingWindow is the number of pipelines in flight per connection.
	ceilingWindow = 4
)

// ceilingConns are the connection counts the ceiling is measured with; the
// best one is reported.
var ceilingConns = []int{1, 4}

// encodeRESP appends the commands as RESP arrays of bulk strings to dst and
// returns it with the offset at which each command ends.
func encodeRESP(dst []byte, cmds [][]any) ([]byte, []int, error) {
	ends := make([]int, len(cmds))
	for i, args := range cmds {
		dst = append(dst, '*')
		dst = strconv.AppendInt(dst, int64(len(args)), 10)
		dst = append(dst, '\r', '\n')
		for _, a := range args {
			var b []byte
			switch v := a.(type) {
			case string:
				b = []byte(v)
			case []byte:
				b = v
			default:
				return nil, nil, fmt.Errorf("bench: ceiling: cannot encode a %T argument", a)
			}
			dst = append(dst, '$')
			dst = strconv.AppendInt(dst, int64(len(b)), 10)
			dst = append(dst, '\r', '\n')
			dst = append(dst, b...)
			dst = append(dst, '\r', '\n')
		}
		ends[i] = len(dst)
	}
	return dst, ends, nil
}

// ceilingPlan splits the encoded commands into one list of pipelines per
// connection: contiguous runs of whole commands, at most pipeline each.
// counts holds the number of commands of each pipeline.
type ceilingPlan struct {
	pipelines [][]byte
	counts    []int
}

func planCeiling(buf []byte, ends []int, conns, pipeline int) []ceilingPlan {
	plans := make([]ceilingPlan, conns)
	per := (len(ends) + conns - 1) / conns
	for c := range conns {
		first, last := c*per, min((c+1)*per, len(ends))
		for i := first; i < last; i += pipeline {
			j := min(i+pipeline, last)
			begin := 0
			if i > 0 {
				begin = ends[i-1]
			}
			plans[c].pipelines = append(plans[c].pipelines, buf[begin:ends[j-1]])
			plans[c].counts = append(plans[c].counts, j-i)
		}
	}
	return plans
}

// readReply reads one RESP reply and fails on an error reply.
func readReply(r *bufio.Reader) error {
	line, err := r.ReadSlice('\n')
	if err != nil {
		return err
	}
	if len(line) < 3 {
		return fmt.Errorf("bench: ceiling: short reply %q", line)
	}
	switch line[0] {
	case '+', ':':
		return nil
	case '-':
		return fmt.Errorf("bench: ceiling: redis: %s", bytes.TrimSpace(line[1:]))
	case '$':
		n, err := strconv.Atoi(string(line[1 : len(line)-2]))
		if err != nil {
			return fmt.Errorf("bench: ceiling: bad bulk length %q", line)
		}
		if n < 0 {
			return nil
		}
		_, err = r.Discard(n + 2)
		return err
	}
	return fmt.Errorf("bench: ceiling: unexpected reply %q", line)
}

// writeCeiling sends one connection's pipelines, at most window of them in
// flight, and reads every reply.
func writeCeiling(ctx context.Context, addr string, plan ceilingPlan, window int) error {
	conn, err := (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("bench: ceiling: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	defer conn.Close()
	slots := make(chan struct{}, window)
	read := make(chan error, 1)
	go func() {
		r := bufio.NewReaderSize(conn, 64<<10)
		for _, n := range plan.counts {
			for range n {
				if err := readReply(r); err != nil {
					read <- err
					return
				}
			}
			<-slots
		}
		read <- nil
	}()
	for _, p := range plan.pipelines {
		select {
		case slots <- struct{}{}:
		case err := <-read:
			if err == nil {
				err = errors.New("bench: ceiling: replies ended early")
			}
			return err
		}
		if _, err := conn.Write(p); err != nil {
			conn.Close()
			<-read
			return fmt.Errorf("bench: ceiling: write: %w", err)
		}
	}
	return <-read
}

// ceilingRun writes the encoded commands over conns connections at once
// and returns its figures.
func ceilingRun(ctx context.Context, addr string, buf []byte, ends []int, conns, valueBytes int) (Measurement, error) {
	plans := planCeiling(buf, ends, conns, ceilingPipeline)
	m := startMeter()
	errs := make([]error, conns)
	var wg sync.WaitGroup
	for c := range plans {
		wg.Go(func() { errs[c] = writeCeiling(ctx, addr, plans[c], ceilingWindow) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return Measurement{}, err
	}
	return m.stop(fmt.Sprintf("ceiling/the RESP writer over %d connection(s)", conns), int64(len(ends)), valueBytes), nil
}

// runCeiling measures the ceiling on the backlog's entries: the best of
// ceilingConns connection counts and, if configured, redis-benchmark.
func (e *env) runCeiling(ctx context.Context, backlog string) (Measurement, error) {
	stream := backlog + ":ceiling"
	cmds, err := rawEntries(backlog, stream, e.cfg.Records, e.cfg.ValueBytes, e.cfg.Partitions, e.cfg.Keys)
	if err != nil {
		return Measurement{}, err
	}
	buf, ends, err := encodeRESP(nil, cmds)
	if err != nil {
		return Measurement{}, err
	}
	first := cmds[0]
	cmds = nil
	var best Measurement
	var tried []string
	for _, conns := range ceilingConns {
		m, err := ceilingRun(ctx, e.cfg.RedisAddr, buf, ends, conns, e.cfg.ValueBytes)
		if err != nil {
			return m, err
		}
		fmt.Fprintf(e.log, "bench:   ceiling over %d connections: %.0f events/s\n", conns, m.EventsPerSec)
		if n, err := e.rdb.XLen(ctx, stream).Result(); err != nil || n != e.cfg.Records {
			return m, fmt.Errorf("bench: ceiling: stream %s holds %d entries, want %d (%v)", stream, n, e.cfg.Records, err)
		}
		if err := e.rdb.Unlink(ctx, stream).Err(); err != nil {
			return m, fmt.Errorf("bench: unlink %s: %w", stream, err)
		}
		tried = append(tried, fmt.Sprintf("%d connection(s) %.0f", conns, m.EventsPerSec))
		if m.EventsPerSec > best.EventsPerSec {
			best = m
		}
	}
	if e.cfg.RedisBenchmark != "" {
		m, err := e.redisBenchmarkCeiling(ctx, first, stream)
		if err != nil {
			return m, err
		}
		fmt.Fprintf(e.log, "bench:   ceiling by redis-benchmark -c %d -P %d: %.0f events/s\n", redisBenchmarkConns, redisBenchmarkPipeline, m.EventsPerSec)
		tried = append(tried, fmt.Sprintf("redis-benchmark -c %d -P %d %.0f", redisBenchmarkConns, redisBenchmarkPipeline, m.EventsPerSec))
		if m.EventsPerSec > best.EventsPerSec {
			best = m
		}
	}
	best.Note = joinNote(best.Note, fmt.Sprintf("the fastest of: pre-encoded RESP XADDs (pipelines of %d, %d in flight per connection) over %s;"+
		" this one: %s; CPU and RSS are the bench's and mean nothing", ceilingPipeline, ceilingWindow, strings.Join(tried, ", "),
		best.Name[len("ceiling/"):]))
	best.Name = "ceiling"
	return best, nil
}
