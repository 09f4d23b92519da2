//go:build integration

package testcontainers

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

const (
	// outage is how long a stopped service stays down.
	outage = 5 * time.Second
	// pauseFor is how long TestRedisFailure holds Redis writes.
	pauseFor = 12 * time.Second
)

// TestKafkaRestart: the broker stops (scripts/services.sh kafka-stop) and
// starts again mid-run; the connector rides it out and every record arrives.
func TestKafkaRestart(t *testing.T) {
	needServiceControl(t)
	const total = 60_000
	s := newScenario(t, "kafka_restart", 4)
	pr := newProducer(t, s.topic, s.partitions)
	l := startLoad(pr, total, 5_000)
	a := startConnector(t, "a", s.env(nil))
	s.waitEntries(t, total/4, 2*time.Minute, a)

	restartService(t, "kafka", func() error { return dialable(svc.brokers[0]) })
	if err := a.diedUnexpectedly(); err != nil {
		t.Fatal(err)
	}

	l.wait(t)
	s.awaitDelivery(t, 4*time.Minute, a)
	a.stop(t)
	s.requireCommittedAtEnd(t)
	s.verify(t, pr, verifyOpts{})
}

// TestRedisRestart: redis-server stops (scripts/services.sh redis-stop, which
// saves the dataset) and starts again mid-run; fetching pauses, the pending
// batch is retried, and every record arrives.
func TestRedisRestart(t *testing.T) {
	needServiceControl(t)
	const total = 60_000
	s := newScenario(t, "redis_restart", 4)
	pr := newProducer(t, s.topic, s.partitions)
	l := startLoad(pr, total, 5_000)
	a := startConnector(t, "a", s.env(nil))
	s.waitEntries(t, total/4, 2*time.Minute, a)

	before, err := s.entries(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	restartService(t, svc.redisControl, func() error { return s.rdb.Ping(context.Background()).Err() })
	if after, err := s.entries(context.Background()); err != nil || after < before {
		t.Fatalf("after redis-stop/redis-start: got %d entries (%v), want at least the %d held before: "+
			"scripts/services.sh redis-stop must keep the dataset (SHUTDOWN SAVE)", after, err, before)
	}
	s.checkCommittedHeld(t)

	l.wait(t)
	s.awaitDelivery(t, 4*time.Minute, a)
	a.stop(t)
	s.requireCommittedAtEnd(t)
	s.verify(t, pr, verifyOpts{})
}

// restartService stops service ("kafka" or "redis") with scripts/services.sh,
// checks with reach that it is really down, keeps it down for the outage,
// and starts it again. If the test ends early, the service is started.
func restartService(t *testing.T, service string, reach func() error) {
	t.Helper()
	down := true
	t.Cleanup(func() {
		if down {
			if err := servicesScript(t, service+"-start"); err != nil {
				t.Errorf("restoring %s: %v", service, err)
			}
		}
	})
	if err := servicesScript(t, service+"-stop"); err != nil {
		t.Fatal(err)
	}
	if reach() == nil {
		t.Fatalf("%s still answers after services.sh %s-stop: it was not started by scripts/services.sh", service, service)
	}
	time.Sleep(outage)
	if err := servicesScript(t, service+"-start"); err != nil {
		t.Fatal(err)
	}
	down = false
	if err := reach(); err != nil {
		t.Fatalf("%s after services.sh %s-start: %v", service, service, err)
	}
}

func servicesScript(t *testing.T, action string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := time.Now()
	args = append([]string{filepath.Join(repoRoot, "scripts", "services.sh"), action}, args...)
	cmd := exec.CommandContext(ctx, "bash", args...)
	cmd.Dir = repoRoot
	out, err := cmd.CombinedOutput()
	t.Logf("scripts/services.sh %s (%s):\n%s", strings.Join(args[1:], " "), time.Since(start).Round(time.Millisecond), out)
	if err != nil {
		return fmt.Errorf("scripts/services.sh %s: %w", strings.Join(args[1:], " "), err)
	}
	return nil
}

func dialable(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err == nil {
		c.Close()
	}
	return err
}

// TestRedisFailure runs the connector against a private redis-server that
// fails twice mid-run: first writes hang (CLIENT PAUSE WRITE: the XADDs time
// out, the breaker opens), then the server stops and starts again (SHUTDOWN
// SAVE keeps the dataset). While writes hang, no offset may be committed
// beyond what Redis holds; afterwards every record arrives.
func TestRedisFailure(t *testing.T) {
	needServices(t)
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but redis-server is not installed (Debian package redis-server)")
		}
		t.Skip("needs a local redis-server binary (Debian package redis-server) for a Redis the test may break")
	}
	const total = 120_000 // 24 s of load: both failures happen while it runs
	s := newScenario(t, "redis_failure", 4)
	priv := startPrivateRedis(t, bin)
	s.rdb = newRedis(t, priv.addr)
	pr := newProducer(t, s.topic, s.partitions)
	l := startLoad(pr, total, 5_000)
	// Short socket timeouts make the paused writes fail, and the breaker
	// open, several times within the pause.
	a := startConnector(t, "a", s.env(map[string]string{
		"KRC_REDIS_ADDRS":        priv.addr,
		"KRC_REDIS_READ_TIMEOUT": "1s",
		"KRC_FLUSH_TIMEOUT":      "2s",
	}))
	s.waitEntries(t, total/6, 2*time.Minute, a)

	// Writes hang; reads still work, so the commit rule can be checked
	// while the connector's flushes time out.
	ctx := context.Background()
	if err := s.rdb.Do(ctx, "CLIENT", "PAUSE", strconv.Itoa(int(pauseFor/time.Millisecond)+5000), "WRITE").Err(); err != nil {
		t.Fatalf("CLIENT PAUSE: %v", err)
	}
	before, _ := s.entries(ctx)
	checks := 0
	for start := time.Now(); time.Since(start) < pauseFor; checks++ {
		time.Sleep(time.Second)
		s.checkCommittedHeld(t)
	}
	after, _ := s.entries(ctx)
	if err := s.rdb.Do(ctx, "CLIENT", "UNPAUSE").Err(); err != nil {
		t.Fatalf("CLIENT UNPAUSE: %v", err)
	}
	if after != before {
		t.Fatalf("entries grew from %d to %d while writes were paused: the pause did not hold", before, after)
	}
	t.Logf("writes paused for %s at %d entries; the commit rule held at %d checks: %s", pauseFor, before, checks, s.progress(t))
	if err := a.diedUnexpectedly(); err != nil {
		t.Fatal(err)
	}

	s.waitEntries(t, total*3/4, 2*time.Minute, a)
	priv.restart(t)
	s.checkCommittedHeld(t)

	l.wait(t)
	s.awaitDelivery(t, 4*time.Minute, a)
	a.stop(t)
	s.requireCommittedAtEnd(t)
	s.verify(t, pr, verifyOpts{})
}

// privateRedis is a redis-server only this test uses, so it can be broken
// without disturbing anyone else.
type privateRedis struct {
	bin, dir, addr string
	port           int
	cmd            *exec.Cmd
	done           chan struct{}
}

func startPrivateRedis(t *testing.T, bin string) *privateRedis {
	t.Helper()
	addr := freeAddr(t)
	_, portText, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(portText)
	r := &privateRedis{bin: bin, dir: t.TempDir(), port: port, addr: addr}
	r.start(t)
	t.Cleanup(func() {
		_ = r.cmd.Process.Kill()
		<-r.done
	})
	return r
}

func (r *privateRedis) start(t *testing.T) {
	t.Helper()
	r.launch(t, 30*time.Second, "--save", "", "--appendonly", "no", "--dbfilename", "dump.rdb")
}

// launch starts redis-server on r's port and dataset with the given
// persistence arguments, and waits up to wait until it answers PING.
func (r *privateRedis) launch(t *testing.T, wait time.Duration, persistence ...string) {
	t.Helper()
	args := append([]string{"--port", strconv.Itoa(r.port), "--bind", "127.0.0.1", "--dir", r.dir,
		"--logfile", filepath.Join(r.dir, "redis.log")}, persistence...)
	r.cmd = exec.Command(r.bin, args...)
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	done := make(chan struct{})
	r.done = done
	go func(cmd *exec.Cmd) {
		_ = cmd.Wait()
		close(done)
	}(r.cmd)
	rdb := redis.NewClient(&redis.Options{Addr: r.addr})
	defer rdb.Close()
	deadline := time.Now().Add(wait)
	for rdb.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("private redis-server on %s does not answer PING:\n%s", r.addr, tail(filepath.Join(r.dir, "redis.log"), 20))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// restart stops the server with SHUTDOWN SAVE, keeps it down for the outage,
// and starts it again on the same port and dataset.
func (r *privateRedis) restart(t *testing.T) {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: r.addr})
	_ = rdb.ShutdownSave(context.Background()).Err() // the connection closes: no reply
	rdb.Close()
	select {
	case <-r.done:
	case <-time.After(30 * time.Second):
		t.Fatal("private redis-server still running 30s after SHUTDOWN")
	}
	t.Logf("private redis-server stopped (dataset saved); down for %s", outage)
	time.Sleep(outage)
	r.start(t)
	t.Log("private redis-server started again")
}
