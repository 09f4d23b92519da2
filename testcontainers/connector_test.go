//go:build integration

package testcontainers

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// stopTimeout bounds how long a connector may take to exit after SIGTERM:
// the shutdown_timeout the harness configures, plus slack.
const stopTimeout = 45 * time.Second

// connectorProcess is one kafka-redis-connector run as a separate process.
type connectorProcess struct {
	name    string
	logPath string
	cmd     *exec.Cmd
	done    chan struct{}
	err     error       // cmd.Wait's result; read only after done is closed
	stopped atomic.Bool // the test signalled it: exiting is expected
}

// connectorEnv is the configuration every scenario starts from: its own
// group and topics, one stream per partition, timeouts short enough for
// tests (a crashed member leaves the group after 10 s; an open breaker
// retries after 2 s). extra overrides or adds KRC_ variables.
func connectorEnv(group string, topics []string, extra map[string]string) map[string]string {
	env := map[string]string{
		"KRC_KAFKA_BROKERS":            strings.Join(svc.brokers, ","),
		"KRC_KAFKA_GROUP":              group,
		"KRC_KAFKA_TOPICS":             strings.Join(topics, ","),
		"KRC_KAFKA_SESSION_TIMEOUT":    "10s",
		"KRC_KAFKA_REBALANCE_TIMEOUT":  "30s",
		"KRC_REDIS_ADDRS":              svc.redisAddr,
		"KRC_STREAM_KEY":               "it:{topic}:{partition}",
		"KRC_CIRCUIT_BREAKER_RECOVERY": "2s",
		"KRC_SHUTDOWN_TIMEOUT":         "30s",
		"KRC_HTTP_LISTEN":              "",
		"KRC_LOG_FORMAT":               "text",
	}
	for k, v := range extra {
		env[k] = v
	}
	return env
}

// startConnector starts the connector binary with env (KRC_ variables; every
// KRC_ variable of the test process itself is left out, since the connector
// rejects unknown ones). Its output goes to a file, kept in KRCDEV_IT_LOG_DIR
// when that is set, whose tail is logged if the test fails; a process still
// running at the end is killed.
func startConnector(t *testing.T, name string, env map[string]string) *connectorProcess {
	t.Helper()
	dir := os.Getenv("KRCDEV_IT_LOG_DIR") // keeps every connector's output
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_")+"-"+name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(connectorBin, "run")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KRC_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("start connector %s: %v", name, err)
	}
	p := &connectorProcess{name: name, logPath: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		if p.running() {
			p.stopped.Store(true)
			_ = cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("--- connector %s output (last 120 lines of %s):\n%s", name, logPath, tail(logPath, 120))
		}
	})
	t.Logf("connector %s started (pid %d)", name, cmd.Process.Pid)
	return p
}

func (p *connectorProcess) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// diedUnexpectedly reports an exit the test did not ask for.
func (p *connectorProcess) diedUnexpectedly() error {
	if p.running() || p.stopped.Load() {
		return nil
	}
	return errors.New("connector " + p.name + " exited unexpectedly: " + exitStatus(p.err) +
		"\n" + tail(p.logPath, 60))
}

// stop sends SIGTERM and requires a clean exit (code 0) within stopTimeout:
// the connector flushes, commits and leaves the group.
func (p *connectorProcess) stop(t *testing.T) {
	t.Helper()
	if !p.running() {
		t.Fatalf("connector %s: already exited (%s) before SIGTERM", p.name, exitStatus(p.err))
	}
	p.stopped.Store(true)
	start := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("connector %s: SIGTERM: %v", p.name, err)
	}
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Fatalf("connector %s: still running %s after SIGTERM; killed", p.name, stopTimeout)
	}
	if p.err != nil {
		t.Fatalf("connector %s after SIGTERM: got %s, want exit code 0", p.name, exitStatus(p.err))
	}
	t.Logf("connector %s stopped by SIGTERM: exit 0 after %s", p.name, time.Since(start).Round(time.Millisecond))
}

// kill sends SIGKILL (a crash: no flush, no commit) and waits for the exit.
func (p *connectorProcess) kill(t *testing.T) {
	t.Helper()
	p.stopped.Store(true)
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatalf("connector %s: SIGKILL: %v", p.name, err)
	}
	<-p.done
	t.Logf("connector %s killed (SIGKILL)", p.name)
}

func exitStatus(err error) string {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return "exit code 0"
	case errors.As(err, &ee) && ee.ExitCode() >= 0:
		return "exit code " + itoa(ee.ExitCode())
	}
	return err.Error()
}

// tail returns the last n lines of the file at path.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}
