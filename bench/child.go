package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
	"github.com/kafka-redis-connector/kafka-redis-connector/internal/service"
	"github.com/kafka-redis-connector/kafka-redis-connector/loadgen"
)

// childConnector is the connector binary running `run` in a process of its
// own, configured through the environment as in a container.
type childConnector struct {
	cmd *exec.Cmd
	// http is where its /readyz, /stats and /metrics listen, as it
	// reported (addr); set by waitReady.
	http   string
	addr   *addrReport
	stderr *tailWriter
	// exactlyOnce is its delivery.guarantee, as its config loader reads
	// its environment.
	exactlyOnce bool
	// exited closes when the process has ended, after err is set to what
	// Wait returned: every wait sees it (failure), not only the first.
	exited chan struct{}
	err    error
}

// childSettings are the KRC_* variables of a connector contender: this
// run's Kafka, Redis, group and streams, an HTTP listener, and the batch
// settings if there are any (nil: the connector's own defaults).
func childSettings(brokers []string, redisAddr, group, clientID string, topics []string, streamKey, listen string, batch *config.Batch) []string {
	out := []string{
		"KRC_KAFKA_BROKERS=" + strings.Join(brokers, ","),
		"KRC_KAFKA_GROUP=" + group,
		"KRC_KAFKA_TOPICS=" + strings.Join(topics, ","),
		"KRC_KAFKA_CLIENT_ID=" + clientID,
		"KRC_REDIS_ADDRS=" + redisAddr,
		"KRC_STREAM_KEY=" + streamKey,
		"KRC_HTTP_LISTEN=" + listen,
	}
	if batch != nil {
		out = append(out,
			"KRC_BATCH_MAX_EVENTS="+strconv.Itoa(batch.MaxEvents),
			"KRC_BATCH_MAX_BYTES="+strconv.Itoa(batch.MaxBytes),
			"KRC_BATCH_TIMEOUT="+batch.Timeout.String(),
			"KRC_BATCH_MAX_IN_FLIGHT="+strconv.Itoa(batch.MaxInFlight))
	}
	return out
}

// childEnv is base without its KRC_* variables (the bench's own
// environment must not configure a contender), plus settings.
func childEnv(base, settings []string) []string {
	out := make([]string, 0, len(base)+len(settings))
	for _, kv := range base {
		if !strings.HasPrefix(kv, "KRC_") {
			out = append(out, kv)
		}
	}
	return append(out, settings...)
}

// childListen is the child's http.listen: the kernel picks a free port
// when it binds, so no two processes can be handed the same one, and the
// child names it in its log (service.ListeningMessage).
const childListen = "127.0.0.1:0"

// startChild starts the connector binary: `run` with runArgs, configured
// by the KRC_* settings of the contender plus extra.
func (e *env) startChild(inst string, batch *config.Batch, topics, runArgs []string, extra ...string) (*childConnector, error) {
	settings := childSettings(e.brokers, e.cfg.RedisAddr, e.group(inst), e.id, topics, "{topic}:"+inst, childListen, batch)
	settings = append(settings, extra...)
	// Last, so they win: the line that names the HTTP address is an info
	// line of the JSON log.
	settings = append(settings, "KRC_LOG_FORMAT=json", "KRC_LOG_LEVEL=info")
	// Not CommandContext: the child is stopped with SIGTERM, as deployed,
	// and waited for.
	cmd := exec.Command(e.cfg.ConnectorBinary, append([]string{"run"}, runArgs...)...)
	cmd.Env = childEnv(os.Environ(), settings)
	c := &childConnector{cmd: cmd, addr: newAddrReport(), stderr: &tailWriter{max: 8 << 10},
		exited: make(chan struct{})}
	// An environment it rejects, it exits on, and that is the error
	// reported; what Load decoded still says the guarantee.
	cfg, _ := config.Load("", cmd.Env)
	c.exactlyOnce = cfg.Delivery.ExactlyOnce()
	cmd.Stdout, cmd.Stderr = io.Discard, io.MultiWriter(c.stderr, c.addr)
	cmd.SysProcAttr = childProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench: start %s: %w", e.cfg.ConnectorBinary, err)
	}
	go func() {
		c.err = cmd.Wait()
		close(c.exited)
	}()
	return c, nil
}

// failure is why the process ended, once exited is closed: a process
// that is waited for is not meant to end, so exit status 0 is one too.
func (c *childConnector) failure() error {
	err := c.err
	if err == nil {
		err = errors.New("exited")
	}
	return fmt.Errorf("connector process: %w; its last log lines:\n%s", err, c.stderr)
}

// wait is the package's wait that fails as soon as the process has ended,
// whether it ended during this wait or before it.
func (c *childConnector) wait(ctx context.Context, what string, every, timeout time.Duration, cond func() bool) error {
	failed := make(chan error, 1)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-c.exited:
			failed <- c.failure()
		case <-done:
		}
	}()
	defer wg.Wait()
	defer close(done)
	return wait(ctx, what, every, timeout, failed, cond)
}

// waitReady waits, up to timeout in all, until the child has named its
// HTTP address and its /readyz answers 200 there: it is in the consumer
// group and reaches Redis.
func (c *childConnector) waitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	if c.http == "" {
		addr, err := c.waitAddr(ctx, timeout)
		if err != nil {
			return err
		}
		c.http = addr
	}
	hc := &http.Client{Timeout: time.Second}
	defer hc.CloseIdleConnections()
	url := "http://" + c.http + "/readyz"
	return c.wait(ctx, "connector process: join the group", 2*time.Millisecond, time.Until(deadline), func() bool {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return false
		}
		resp, err := hc.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// waitAddr waits up to timeout for the address the child reports it
// listens on; it logs that after the start-up check passed.
func (c *childConnector) waitAddr(ctx context.Context, timeout time.Duration) (string, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case addr := <-c.addr.found:
		return addr, nil
	case <-c.exited:
		// Wait returns once the log is copied: a report is in found by now.
		select {
		case addr := <-c.addr.found:
			return addr, nil
		default:
		}
		return "", fmt.Errorf("bench: connector process exited (%v) before it named its HTTP address; its last log lines:\n%s", c.err, c.stderr)
	case <-ctx.Done():
		return "", ctx.Err()
	case <-t.C:
		return "", fmt.Errorf("bench: connector process: no %q log line naming its HTTP address (http.listen %s) within %s; its last log lines:\n%s",
			service.ListeningMessage, childListen, timeout, c.stderr)
	}
}

// addrReport is a writer for the child's log that delivers, once, the
// address in its service.ListeningMessage line (JSON lines).
type addrReport struct {
	found chan string // capacity 1
	line  []byte
	done  bool
}

// maxLogLine bounds the line addrReport holds: longer lines (none is the
// one it waits for) are dropped.
const maxLogLine = 64 << 10

func newAddrReport() *addrReport { return &addrReport{found: make(chan string, 1)} }

// Write is called from one goroutine, exec's copy of the child's stderr.
func (a *addrReport) Write(p []byte) (int, error) {
	n := len(p)
	for !a.done && len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			a.line = append(a.line, p...)
			break
		}
		a.line = append(a.line, p[:i]...)
		p = p[i+1:]
		if addr, ok := listeningAddr(a.line); ok {
			a.found <- addr
			a.done, a.line = true, nil
		}
		a.line = a.line[:0]
	}
	if len(a.line) > maxLogLine {
		a.line = a.line[:0]
	}
	return n, nil
}

// listeningAddr returns the address in line if it is the log line of the
// HTTP endpoints listening.
func listeningAddr(line []byte) (string, bool) {
	var rec struct {
		Msg  string `json:"msg"`
		Addr string `json:"addr"`
	}
	if json.Unmarshal(line, &rec) != nil || rec.Msg != service.ListeningMessage {
		return "", false
	}
	if _, _, err := net.SplitHostPort(rec.Addr); err != nil {
		return "", false
	}
	return rec.Addr, true
}

// stop sends SIGTERM, waits for the process (SIGKILL after grace) and
// returns an error unless it exited 0, as the delivery contract says it
// does.
func (c *childConnector) stop(grace time.Duration) error {
	select {
	case <-c.exited:
	default:
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-c.exited:
		case <-time.After(grace):
			_ = c.cmd.Process.Kill()
			<-c.exited
			return fmt.Errorf("bench: connector process did not exit within %s of SIGTERM; its last log lines:\n%s", grace, c.stderr)
		}
	}
	if c.err != nil {
		return fmt.Errorf("bench: connector process: %w; its last log lines:\n%s", c.err, c.stderr)
	}
	return nil
}

// runChild measures the connector binary with the given batch settings on
// the backlog: from joining the group until the stream holds every record,
// CPU and peak RSS of the child alone. In the first round also its end-to-
// end latency at the paced rate, read back from Redis. runArgs go to `run`
// (e.g. --cpuprofile), extra to its environment.
func (e *env) runChild(ctx context.Context, name string, batch *config.Batch, backlog string, round int, runArgs []string, extra ...string) (m Measurement, err error) {
	inst := instance(name, round)
	topics := []string{backlog}
	paced := e.topic("paced-" + name)
	if round == 1 {
		if err := e.createTopic(ctx, paced, e.cfg.Partitions); err != nil {
			return m, err
		}
		topics = append(topics, paced)
	}
	c, err := e.startChild(inst, batch, topics, runArgs, extra...)
	if err != nil {
		return m, err
	}
	stream := backlog + ":" + inst
	defer func() {
		_ = e.rdb.Unlink(context.WithoutCancel(ctx), stream, paced+":"+inst).Err()
		if serr := c.stop(40 * time.Second); err == nil {
			err = serr
		}
	}()
	if err := c.waitReady(ctx, e.cfg.PhaseTimeout); err != nil {
		return m, err
	}
	pid := c.cmd.Process.Pid
	// What it wrote before the clock started (a millisecond's worth at
	// most) is not counted.
	before, err := e.rdb.XLen(ctx, stream).Result()
	if err != nil {
		return m, fmt.Errorf("bench: xlen %s: %w", stream, err)
	}
	u0, err := readProcUsage(pid)
	if err != nil {
		return m, err
	}
	t0 := time.Now()
	var xerr error
	if err := c.wait(ctx, "drain the backlog", 2*time.Millisecond, e.cfg.PhaseTimeout, func() bool {
		n, err := e.rdb.XLen(ctx, stream).Result()
		xerr = err
		return err != nil || n >= e.cfg.Records
	}); err != nil {
		return m, err
	}
	el := time.Since(t0)
	u1, err := readProcUsage(pid)
	if err != nil {
		return m, err
	}
	if xerr != nil {
		return m, fmt.Errorf("bench: xlen %s: %w", stream, xerr)
	}
	m = childMeasurement(name, e.cfg.Records-before, e.cfg.ValueBytes, el, u0, u1)
	if err := e.checkDelivered(ctx, stream, e.cfg.Records, c.exactlyOnce, e.cfg.PhaseTimeout); err != nil {
		return m, err
	}
	if round > 1 {
		return m, nil
	}
	gen, err := e.produce(ctx, loadgen.Config{Topic: paced, Partitions: e.cfg.Partitions, Rate: e.cfg.PacedRate,
		Duration: e.cfg.PacedDuration, Size: e.cfg.ValueBytes, Keys: e.cfg.Keys}, time.Millisecond)
	if err != nil {
		return m, err
	}
	streams, err := gen.StreamKeys("{topic}:" + inst)
	if err != nil {
		return m, err
	}
	rep, err := gen.Verify(ctx, e.rdb, streams, config.Default().Stream.ValueField, e.cfg.PhaseTimeout)
	if err != nil {
		return m, err
	}
	if !rep.OK() {
		return m, fmt.Errorf("bench: %s: paced records: %s", name, rep.Report)
	}
	m.LatencyP50Ms, m.LatencyP99Ms = msOf(rep.Latency.Quantile(0.50)), msOf(rep.Latency.Quantile(0.99))
	return m, nil
}

// childMeasurement turns a child's drain into figures: records written in
// el, and its CPU and RSS before and after.
func childMeasurement(name string, records int64, valueBytes int, el time.Duration, before, after procUsage) Measurement {
	m := Measurement{Name: name, Records: records, Seconds: el.Seconds(),
		PeakRSSMiB: float64(after.peak) / (1 << 20), StartRSSMiB: float64(before.rss) / (1 << 20),
		Note: "the connector binary in a process of its own (`run`, KRC_* environment); CPU from /proc/<pid>/stat" +
			" (10 ms ticks); peak RSS its VmHWM; latency from the producer's send to the stream entry ID"}
	if el > 0 {
		m.EventsPerSec = float64(records) / el.Seconds()
		m.MBPerSec = float64(records) * float64(valueBytes) / el.Seconds() / 1e6
	}
	if records > 0 {
		m.CPUUsPerEvent = float64(after.cpu-before.cpu) / float64(time.Microsecond) / float64(records)
	}
	return m
}

// tailWriter keeps the last max bytes written to it.
type tailWriter struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tailWriter) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
