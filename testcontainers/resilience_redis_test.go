//go:build integration

package testcontainers

import (
	"os"
	"os/exec"
	"testing"
	"time"
)

// faultLoad is the load of the Redis fault scenarios, records per second.
const faultLoad = 2_000

// TestFaultRedisUnreachable: Redis cannot be reached (the proxy refuses
// connections and drops the open ones) for 60 s (short: 8 s) under 2,000
// records/s. The breaker opens, fetching pauses, the batch is retried at
// each half-open probe, and after the outage everything arrives.
func TestFaultRedisUnreachable(t *testing.T) {
	needServices(t)
	px := startRedisProxy(t, svc.redisAddr)
	rep := runRedisFault(t, redisFault{
		name: "redis_unreachable", rate: faultLoad,
		lead: 4 * time.Second, hold: sized(8*time.Second, 60*time.Second), tail: sized(4*time.Second, 10*time.Second),
		redisAddr: px.addr, redisDown: true,
		inject:   px.down,
		heal:     px.up,
		maxOpens: -1,
	})
	if rep.opens == 0 {
		t.Errorf("redis_unreachable: the breaker never opened during the outage")
	}
}

// TestFaultRedisLatency: every Redis reply is delayed 500±100 ms for 60 s
// (short: 10 s). With redis.read_timeout 2s and flush_timeout 5s such
// replies are slow but successful: the connector slows down, fetching is
// throttled by backpressure, the breaker does not flap (at most one open a
// minute) and nothing is duplicated.
func TestFaultRedisLatency(t *testing.T) {
	needServices(t)
	px := startRedisProxy(t, svc.redisAddr)
	hold := sized(10*time.Second, 60*time.Second)
	runRedisFault(t, redisFault{
		name: "redis_latency_500ms", rate: faultLoad,
		lead: 4 * time.Second, hold: hold, tail: sized(4*time.Second, 10*time.Second),
		env:       map[string]string{"KRC_REDIS_READ_TIMEOUT": "2s", "KRC_FLUSH_TIMEOUT": "5s"},
		redisAddr: px.addr,
		inject: func(t *testing.T) {
			px.add(t, toxic{Name: "slow", Type: "latency", Stream: "downstream",
				Attributes: map[string]any{"latency": 500, "jitter": 100}})
		},
		heal:         func(t *testing.T) { px.remove(t, "slow") },
		maxOpens:     max(1, int(hold/time.Minute)),
		noDuplicates: true,
	})
}

// TestFaultRedisReplyTimeout: replies take 2.5 s, longer than
// redis.read_timeout (1 s), for 30 s (short: 14 s). An XADD is applied but
// its reply comes too late, so every attempt fails after about a second
// (on a new connection too: without a password there is no handshake to
// time out first), and five flushes' worth of attempts open the breaker;
// the short version is long enough to see it open (3 times in the CI
// runs). This is the "Redis timeout after apply" source of duplicates;
// nothing is lost.
func TestFaultRedisReplyTimeout(t *testing.T) {
	needServices(t)
	px := startRedisProxy(t, svc.redisAddr)
	rep := runRedisFault(t, redisFault{
		name: "redis_reply_timeout", rate: faultLoad,
		lead: 4 * time.Second, hold: sized(14*time.Second, 30*time.Second), tail: sized(4*time.Second, 10*time.Second),
		env:       map[string]string{"KRC_REDIS_READ_TIMEOUT": "1s", "KRC_FLUSH_TIMEOUT": "5s"},
		redisAddr: px.addr,
		inject: func(t *testing.T) {
			px.add(t, toxic{Name: "late", Type: "latency", Stream: "downstream",
				Attributes: map[string]any{"latency": 2500}})
		},
		heal:     func(t *testing.T) { px.remove(t, "late") },
		maxOpens: -1,
	})
	if rep.opens == 0 {
		t.Errorf("redis_reply_timeout: the breaker never opened while every reply timed out")
	}
}

// TestFaultRedisConnReset: connections are cut in the middle of pipelines
// for 60 s (short: 10 s): first the proxy closes each connection after
// 256 KiB of commands (Redis applies the complete commands of the cut
// pipeline, the rest never arrives), then after 24 KiB of replies (the
// whole pipeline is applied, part of its replies lost). Retries on fresh
// connections carry on; nothing is lost, partly applied batches show up as
// duplicates.
func TestFaultRedisConnReset(t *testing.T) {
	needServices(t)
	px := startRedisProxy(t, svc.redisAddr)
	hold := sized(10*time.Second, 60*time.Second)
	runRedisFault(t, redisFault{
		name: "redis_conn_reset", rate: faultLoad,
		lead: 4 * time.Second, hold: hold, tail: sized(4*time.Second, 10*time.Second),
		redisAddr: px.addr,
		inject: func(t *testing.T) {
			px.add(t, toxic{Name: "cut", Type: "limit_data", Stream: "upstream",
				Attributes: map[string]any{"bytes": 256 << 10}})
		},
		midway: func(t *testing.T) {
			px.remove(t, "cut")
			px.add(t, toxic{Name: "cut_replies", Type: "limit_data", Stream: "downstream",
				Attributes: map[string]any{"bytes": 24 << 10}})
		},
		heal:     func(t *testing.T) { px.remove(t, "cut_replies") },
		maxOpens: -1,
	})
}

// TestFaultRedisKilled: a private redis-server (appendonly yes, appendfsync
// always, so that what it acknowledged survives SIGKILL) is killed and
// started again after 30 s (short: 8 s) under 2,000 records/s.
func TestFaultRedisKilled(t *testing.T) {
	needServices(t)
	bin := needRedisServer(t)
	priv := startDurableRedis(t, bin)
	down := sized(8*time.Second, 30*time.Second)
	runRedisFault(t, redisFault{
		name: "redis_killed", rate: faultLoad,
		lead: 4 * time.Second, hold: down, tail: sized(4*time.Second, 10*time.Second),
		redisAddr: priv.addr, rdbAddr: priv.addr, redisDown: true, redisGone: true,
		inject:   priv.kill,
		heal:     priv.startDurable,
		maxOpens: -1,
	})
}

// needRedisServer returns the redis-server binary for a private server, or
// skips (fails in CI) without one.
func needRedisServer(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but redis-server is not installed (Debian package redis-server)")
		}
		t.Skip("needs a local redis-server binary (Debian package redis-server) for a Redis the test may kill")
	}
	return bin
}

// startDurableRedis starts a private redis-server whose every acknowledged
// write is on disk before the reply (appendonly yes, appendfsync always):
// without that, Redis itself loses the writes of its last second on SIGKILL
// and the oracle would blame the connector.
func startDurableRedis(t *testing.T, bin string) *privateRedis {
	t.Helper()
	r := startPrivateRedis(t, bin) // a free port, a temporary dir, cleanup
	_ = r.cmd.Process.Kill()
	<-r.done
	r.startDurable(t)
	return r
}

// startDurable starts the server on r's port and dataset with an
// always-fsynced append-only file, and waits until it answers PING (after
// loading that file).
func (r *privateRedis) startDurable(t *testing.T) {
	t.Helper()
	r.launch(t, time.Minute, "--save", "", "--appendonly", "yes", "--appendfsync", "always")
	t.Logf("private redis-server on %s (appendonly yes, appendfsync always) answers", r.addr)
}

// kill sends SIGKILL to the server: no shutdown, no final save.
func (r *privateRedis) kill(t *testing.T) {
	t.Helper()
	if err := r.cmd.Process.Kill(); err != nil {
		t.Fatalf("SIGKILL redis-server: %v", err)
	}
	<-r.done
	t.Logf("private redis-server %s killed (SIGKILL)", r.addr)
}
