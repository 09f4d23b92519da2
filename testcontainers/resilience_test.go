//go:build integration

package testcontainers

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The fault suite (issue 4, item 5): each TestFault* scenario runs the
// connector binary under one fault and reports one line,
//
//	fault <name>: sent=N lost=N duplicated=N breaker_opens=N max_rss_mib=X recovery_s=Y
//
// where breaker_opens counts the breaker's transitions to OPEN in the
// connector's log, max_rss_mib is the connector's peak RSS (VmHWM), and
// recovery_s the time from the fault's end to the first successful flush
// after it (throughput.written on /stats growing again). The short versions
// run by default (CI); KRCDEV_IT_FULL=1 (make test-faults) runs the full ones.
// docs/RELIABILITY.md holds the measured figures.

// faultFetchBound is how many records a connector may consume while no
// write succeeds, with batches of at most events records and at most
// inflight flushes in flight (the largest values in effect its /stats
// showed meanwhile; the defaults adapt them): it polls (at most
// max(4 × events, 500) at a time) only while its lanes hold fewer than
// inflight × max(4 × events, 500), and a batch per flush in flight may
// have left the lanes for the flush that fails. With the old fixed
// defaults (50, 1) that is 500 + 500 + 50.
func faultFetchBound(events, inflight int) int {
	poll := max(4*events, 500)
	return inflight*poll + poll + inflight*events
}

// faultBreakerRecovery is circuit_breaker.recovery as connectorEnv sets it;
// a scenario must recover within it plus recoverySlack.
const (
	faultBreakerRecovery = 2 * time.Second
	recoverySlack        = 2 * time.Second
)

// fullFaults reports whether the full versions were asked for.
func fullFaults() bool { return os.Getenv("KRCDEV_IT_FULL") == "1" }

// sized returns short, or full under KRCDEV_IT_FULL=1.
func sized[T any](short, full T) T {
	if fullFaults() {
		return full
	}
	return short
}

// statsSample is what one GET /stats showed.
type statsSample struct {
	at       time.Time
	written  uint64
	consumed uint64
	state    string
	rssKB    int64 // VmRSS at that moment
	// events and inflight are the batch size and flushes in flight in
	// effect (batching.effective_max_events, effective_max_in_flight).
	events, inflight int
}

// watchedConnector is a connector process whose /stats and peak RSS are
// sampled every 50 ms while it runs.
type watchedConnector struct {
	*connectorProcess
	statsURL string

	mu       sync.Mutex
	samples  []statsSample
	maxRSSkB int64
	done     chan struct{}
}

// startWatched starts a connector with /stats on a free 127.0.0.1 port and
// samples it until it exits. env is not modified.
func startWatched(t *testing.T, name string, env map[string]string) *watchedConnector {
	t.Helper()
	listen := freeAddr(t)
	env = maps.Clone(env)
	env["KRC_HTTP_LISTEN"] = listen
	w := &watchedConnector{statsURL: "http://" + listen + "/stats", done: make(chan struct{})}
	w.connectorProcess = startConnector(t, name, env)
	go w.sample()
	// Runs before startConnector's cleanup (registered earlier), so it
	// ends a process still running itself rather than wait for that.
	t.Cleanup(func() {
		if w.running() {
			w.stopped.Store(true)
			_ = w.cmd.Process.Kill()
		}
		<-w.done
	})
	return w
}

func (w *watchedConnector) sample() {
	defer close(w.done)
	client := &http.Client{Timeout: time.Second}
	status := "/proc/" + strconv.Itoa(w.cmd.Process.Pid) + "/status"
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-w.connectorProcess.done:
			return
		case <-tick.C:
		}
		hwm, rss := procMemKB(status)
		if hwm > 0 {
			w.mu.Lock()
			w.maxRSSkB = max(w.maxRSSkB, hwm)
			w.mu.Unlock()
		}
		var st struct {
			Throughput struct {
				Written  uint64 `json:"written"`
				Consumed uint64 `json:"consumed"`
			} `json:"throughput"`
			CircuitBreaker struct {
				State string `json:"state"`
			} `json:"circuit_breaker"`
			Batching struct {
				Events   int `json:"effective_max_events"`
				Inflight int `json:"effective_max_in_flight"`
			} `json:"batching"`
		}
		resp, err := client.Get(w.statsURL)
		if err != nil {
			continue
		}
		err = json.NewDecoder(resp.Body).Decode(&st)
		resp.Body.Close()
		if err != nil {
			continue
		}
		w.mu.Lock()
		w.samples = append(w.samples, statsSample{at: time.Now(), written: st.Throughput.Written,
			consumed: st.Throughput.Consumed, state: st.CircuitBreaker.State, rssKB: rss,
			events: st.Batching.Events, inflight: st.Batching.Inflight})
		w.mu.Unlock()
	}
}

// procMemKB reads the peak (VmHWM) and current (VmRSS) resident set size,
// in kB, from /proc/<pid>/status.
func procMemKB(path string) (hwm, rss int64) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		name, rest, ok := strings.Cut(line, ":")
		if !ok || (name != "VmHWM" && name != "VmRSS") {
			continue
		}
		kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
		if name == "VmHWM" {
			hwm = kb
		} else {
			rss = kb
		}
	}
	return hwm, rss
}

func (w *watchedConnector) maxRSSMiB() float64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return float64(w.maxRSSkB) / 1024
}

// firstWriteAfter waits until a sample taken after since shows more records
// written than the last sample taken at or before since, and returns how
// long after since that sample was taken: the first successful flush after
// a fault ended (or after the process started, for since = its start).
func (w *watchedConnector) firstWriteAfter(t *testing.T, since time.Time, timeout time.Duration) time.Duration {
	t.Helper()
	var got time.Duration
	waitFor(t, timeout, "the first successful flush after "+since.Format("15:04:05.000"), []*connectorProcess{w.connectorProcess},
		func(context.Context) (bool, string) {
			w.mu.Lock()
			defer w.mu.Unlock()
			var base uint64
			for _, s := range w.samples {
				if !s.at.After(since) {
					base = s.written
					continue
				}
				if s.written > base {
					got = s.at.Sub(since)
					return true, ""
				}
			}
			n := len(w.samples)
			if n == 0 {
				return false, "no /stats sample yet"
			}
			last := w.samples[n-1]
			return false, fmt.Sprintf("written=%d breaker=%s", last.written, last.state)
		})
	return got
}

// maxRSSBetween is the highest VmRSS (MiB) sampled from one instant to another.
func (w *watchedConnector) maxRSSBetween(from, to time.Time) float64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	var kb int64
	for _, s := range w.samples {
		if !s.at.Before(from) && !s.at.After(to) {
			kb = max(kb, s.rssKB)
		}
	}
	return float64(kb) / 1024
}

// limitsBetween returns the largest batch size and flushes in flight in
// effect from one instant to another: the last sample before from, and
// every sample up to to.
func (w *watchedConnector) limitsBetween(from, to time.Time) (events, inflight int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, s := range w.samples {
		if s.at.After(to) {
			break
		}
		if s.at.Before(from) {
			events, inflight = s.events, s.inflight
			continue
		}
		events, inflight = max(events, s.events), max(inflight, s.inflight)
	}
	return events, inflight
}

// between returns how much the counter picked by get grew from one instant
// to another, by the samples.
func (w *watchedConnector) between(from, to time.Time, get func(statsSample) uint64) uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	var a, b uint64
	for _, s := range w.samples {
		if !s.at.After(from) {
			a = get(s)
		}
		if !s.at.After(to) {
			b = get(s)
		}
	}
	return b - a
}

func sampledWritten(s statsSample) uint64  { return s.written }
func sampledConsumed(s statsSample) uint64 { return s.consumed }

// breakerLine matches the connector's breaker transition log line (text format).
var breakerLine = regexp.MustCompile(`msg="circuit breaker state changed".* to=([A-Z_]+)`)

// breakerOpens counts the breaker's transitions to OPEN in the log at path.
func breakerOpens(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if m := breakerLine.FindStringSubmatch(sc.Text()); m != nil && m[1] == "OPEN" {
			n++
		}
	}
	return n
}

// logHas reports whether the log at path holds a line containing all of parts.
func logHas(path string, parts ...string) bool { return logCount(path, parts...) > 0 }

// logCount counts the lines of the log at path that contain all of parts.
func logCount(path string, parts ...string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			n++
		}
	}
	return n
}

// faultReport is the one line a fault scenario reports.
type faultReport struct {
	name                string
	sent, lost, dup     int
	opens               int
	maxRSSMiB           float64
	recovery            time.Duration
	recoveryUnavailable bool // the fault has no end to recover from (poison records)
}

func (r faultReport) String() string {
	rec := "n/a"
	if !r.recoveryUnavailable {
		rec = fmt.Sprintf("%.2f", r.recovery.Seconds())
	}
	return fmt.Sprintf("fault %s: sent=%d lost=%d duplicated=%d breaker_opens=%d max_rss_mib=%.1f recovery_s=%s",
		r.name, r.sent, r.lost, r.dup, r.opens, r.maxRSSMiB, rec)
}

// log logs the line and adds it to the run's summary.
func (r faultReport) log(t *testing.T) {
	t.Helper()
	line := r.String()
	if !fullFaults() {
		line += " (short)"
	}
	t.Log(line)
	recordSummary(line)
}

// requireRecovery fails the test when the recovery took longer than the
// breaker's recovery delay plus recoverySlack.
func (r faultReport) requireRecovery(t *testing.T) {
	t.Helper()
	if limit := faultBreakerRecovery + recoverySlack; r.recovery > limit {
		t.Errorf("%s: got recovery %s after the fault ended, want at most %s (circuit_breaker.recovery + %s)",
			r.name, r.recovery.Round(time.Millisecond), limit, recoverySlack)
	}
}

// redisFault is a scenario in which Redis misbehaves for a while under a
// steady load.
type redisFault struct {
	name string
	// rate is the load in records per second; lead, hold and tail are how
	// long it runs before, during and after the fault.
	rate             int
	lead, hold, tail time.Duration
	// env adds connector settings (socket and flush timeouts).
	env map[string]string
	// redisAddr is where the connector writes (a proxy or a private
	// server); rdb reads the streams back (direct).
	redisAddr string
	rdbAddr   string
	// inject starts the fault; heal ends it and returns when Redis is
	// reachable again, i.e. when the fault ended.
	inject, heal func(t *testing.T)
	// midway, if set, runs halfway through the fault (a second phase).
	midway func(t *testing.T)
	// redisDown: no write can succeed during the fault, so fetching must
	// pause (at most faultFetchBound records consumed meanwhile).
	redisDown bool
	// redisGone: Redis itself is down during the fault, so the commit rule
	// can be checked only after it.
	redisGone bool
	// maxOpens bounds the breaker's transitions to OPEN; <0: no bound.
	maxOpens int
	// noDuplicates requires duplicated = 0 (no timeout after apply, no
	// connection lost with a pipeline applied but unanswered).
	noDuplicates bool
}

// runRedisFault runs rf: load starts, the fault holds for rf.hold, then
// ends; every record must arrive (lost = 0, in order), the commit rule
// must hold during the fault, and the first flush after it must come within
// the breaker's recovery plus recoverySlack.
func runRedisFault(t *testing.T, rf redisFault) faultReport {
	t.Helper()
	s := newScenario(t, rf.name, 4)
	if rf.rdbAddr != "" {
		s.rdb = newRedis(t, rf.rdbAddr)
	}
	pr := newProducer(t, s.topic, s.partitions)
	env := s.env(rf.env)
	env["KRC_REDIS_ADDRS"] = rf.redisAddr
	c := startWatched(t, "a", env)
	total := int(float64(rf.rate) * (rf.lead + rf.hold + rf.tail).Seconds())
	l := startLoad(pr, total, rf.rate)
	s.waitEntries(t, 1, time.Minute, c.connectorProcess)
	time.Sleep(rf.lead)

	rf.inject(t)
	faultStart := time.Now()
	time.Sleep(rf.hold / 2)
	if !rf.redisGone {
		s.checkCommittedHeld(t)
	}
	if rf.midway != nil {
		rf.midway(t)
	}
	time.Sleep(rf.hold - time.Since(faultStart))
	if err := c.diedUnexpectedly(); err != nil {
		t.Fatal(err)
	}
	rf.heal(t)
	faultEnd := time.Now()
	recovery := c.firstWriteAfter(t, faultEnd, time.Minute)
	consumed := c.between(faultStart, faultEnd, sampledConsumed)
	events, inflight := c.limitsBetween(faultStart, faultEnd)
	t.Logf("%s: fault from %s to %s; during it %d records consumed, %d written, RSS at most %.1f MiB, "+
		"batch size and flushes in flight at most %d and %d; first successful flush %s after it ended; %s",
		rf.name, faultStart.Format("15:04:05.000"), faultEnd.Format("15:04:05.000"), consumed,
		c.between(faultStart, faultEnd, sampledWritten), c.maxRSSBetween(faultStart, faultEnd), events, inflight,
		recovery.Round(time.Millisecond), s.progress(t))
	// Nothing is fetched beyond what the lanes may hold: the bound on
	// memory while Redis is down.
	if rf.redisDown {
		if events <= 0 || inflight <= 0 {
			t.Errorf("%s: /stats showed batch size %d and flushes in flight %d, want both positive", rf.name, events, inflight)
		}
		if bound := faultFetchBound(events, inflight); consumed > uint64(bound) {
			t.Errorf("%s: got %d records consumed while Redis was down, want at most %d (batch size %d, %d in flight): fetching did not pause",
				rf.name, consumed, bound, events, inflight)
		}
	}
	s.checkCommittedHeld(t)

	l.wait(t)
	s.awaitDelivery(t, 4*time.Minute, c.connectorProcess)
	rss := c.maxRSSMiB()
	c.stop(t)
	s.requireCommittedAtEnd(t)
	or := s.verify(t, pr, verifyOpts{noDuplicates: rf.noDuplicates})
	rep := faultReport{name: rf.name, sent: or.Expected, lost: or.Lost, dup: or.Duplicated,
		opens: breakerOpens(t, c.logPath), maxRSSMiB: rss, recovery: recovery}
	rep.log(t)
	rep.requireRecovery(t)
	// Riding the fault out, the connector stays in the group: one
	// assignment, at the start.
	if n := logCount(c.logPath, `msg="partitions assigned"`); n != 1 {
		t.Errorf("%s: got %d partition assignments, want 1: the connector left or lost the group during the fault", rf.name, n)
	}
	if rf.maxOpens >= 0 && rep.opens > rf.maxOpens {
		t.Errorf("%s: got %d breaker opens, want at most %d", rf.name, rep.opens, rf.maxOpens)
	}
	return rep
}
