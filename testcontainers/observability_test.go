//go:build integration

package testcontainers

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.yaml.in/yaml/v3"
)

// obsJob is the scrape job name of deploy/prometheus/prometheus.yml; the
// alert rules and the dashboard's $job variable rely on it.
const obsJob = "kafka-redis-connector"

// obsDesignMetrics are the metrics DESIGN.md names; the dashboard must show
// each of them (the _bucket series stand for the histograms).
var obsDesignMetrics = []string{
	"krc_records_consumed_total", "krc_records_written_total", "krc_records_dead_lettered_total",
	"krc_records_dropped_total", "krc_batches_flushed_total", "krc_batch_size_bucket",
	"krc_batching_efficiency_ratio", "krc_flush_duration_seconds_bucket",
	"krc_end_to_end_latency_seconds_bucket", "krc_circuit_breaker_state",
	"krc_circuit_breaker_trips_total", "krc_consumer_lag_records", "krc_inflight_batches",
	"krc_fetch_paused", "krc_commits_total", "krc_commit_errors_total", "krc_kafka_read_bytes_total",
}

// TestObservability verifies deploy/: promtool accepts the shipped
// Prometheus config and alert rules; then a real Prometheus (Debian package
// prometheus) scrapes the connector, with those rules loaded, through a load
// run with a dead letter and a Redis outage that trips the breaker, and
// every PromQL expression of deploy/grafana/dashboard.json and
// deploy/prometheus/alerts.yml is evaluated through its HTTP API.
func TestObservability(t *testing.T) {
	needServices(t)
	promBin, promtool := obsLookPath(t, "prometheus"), obsLookPath(t, "promtool")
	deploy := filepath.Join(repoRoot, "deploy")
	obsRun(t, promtool, "check", "config", filepath.Join(deploy, "prometheus", "prometheus.yml"))
	obsRun(t, promtool, "check", "rules", filepath.Join(deploy, "prometheus", "alerts.yml"))
	dash := obsLoadDashboard(t, filepath.Join(deploy, "grafana", "dashboard.json"))
	rules := obsLoadRules(t, filepath.Join(deploy, "prometheus", "alerts.yml"))

	s := newScenario(t, "observability", 2)
	dlqTopic := s.topic + "-dlq"
	createTopic(t, s.adm, dlqTopic, 1)
	t.Cleanup(func() {
		if !t.Failed() {
			_, _ = s.adm.DeleteTopics(context.Background(), dlqTopic)
		}
	})
	proxy := obsStartProxy(t, svc.redisAddr)
	httpAddr := freeAddr(t)
	prom := obsStartPrometheus(t, promBin, deploy, httpAddr)
	start := time.Now()

	c := startConnector(t, "obs", s.env(map[string]string{
		"KRC_REDIS_ADDRS":            proxy.addr,
		"KRC_REDIS_DIAL_TIMEOUT":     "1s",
		"KRC_HTTP_LISTEN":            httpAddr,
		"KRC_ERRORS_POLICY":          "dlq",
		"KRC_ERRORS_DLQ_TOPIC":       dlqTopic,
		"KRC_STREAM_MAX_ENTRY_BYTES": "4096",
		"KRC_RETRY_INITIAL_BACKOFF":  "50ms",
		"KRC_RETRY_MAX_BACKOFF":      "500ms",
	}))
	prom.waitValue(t, c, "the connector target up", `up{job="`+obsJob+`"}`, 1)

	pr := newProducer(t, s.topic, s.partitions)
	l := startLoad(pr, 30_000, 1_500)
	s.waitEntries(t, 3_000, time.Minute, c)

	// One record over stream.max_entry_bytes: dead-lettered as entry_too_large.
	big := &kgo.Record{Topic: s.topic, Partition: 0, Value: []byte(strings.Repeat("b", 16<<10))}
	if err := pr.cl.ProduceSync(context.Background(), big).FirstErr(); err != nil {
		t.Fatalf("produce the oversized record: %v", err)
	}
	prom.waitValue(t, c, "a dead letter", `sum(krc_records_dead_lettered_total)`, 1)

	// Redis goes away (the proxy refuses service) until the breaker has
	// opened, probed half-open and opened again.
	proxy.setDown(true)
	outageStart := time.Now()
	prom.waitValue(t, c, "a breaker trip", `krc_circuit_breaker_trips_total`, 1)
	prom.waitValue(t, c, "the breaker state OPEN scraped", `max_over_time(krc_circuit_breaker_state[1m])`, 2)
	obsWaitHTTP(t, c, "http://"+httpAddr+"/readyz", http.StatusServiceUnavailable)
	time.Sleep(4 * time.Second)
	proxy.setDown(false)
	t.Logf("redis unreachable for %s", time.Since(outageStart).Round(time.Millisecond))

	sent := l.wait(t)
	s.waitEntries(t, int64(sent), 2*time.Minute, c)
	s.waitCaughtUp(t, time.Minute, c)
	obsWaitHTTP(t, c, "http://"+httpAddr+"/readyz", http.StatusOK)
	obsCheckStats(t, "http://"+httpAddr+"/stats")
	time.Sleep(3 * time.Second) // a few more scrapes and rule evaluations

	at := time.Now()
	window := fmt.Sprintf("%ds", int(math.Ceil(at.Sub(start).Seconds())))
	t.Logf("evaluating at %s; $__rate_interval and $__range = %s (the whole run)", at.Format(time.RFC3339), window)
	obsCheckDashboard(t, prom, dash, at, window)
	obsCheckRules(t, prom, rules, at, window)
	c.stop(t)
	recordSummary(fmt.Sprintf("observability: %d dashboard expressions and %d alert rules evaluated on Prometheus", obsCountExprs(dash), len(rules)))
}

// obsCheckDashboard evaluates every target and variable query of the
// dashboard; each must be valid and return series, and each metric it
// names must exist on its own (so "or vector(0)" cannot hide a typo).
func obsCheckDashboard(t *testing.T, prom *obsProm, dash obsDashboard, at time.Time, window string) {
	t.Helper()
	shown := map[string]bool{}
	for _, p := range dash.allPanels() {
		if p.Datasource.UID != "${DS_PROMETHEUS}" {
			t.Errorf("panel %q: datasource uid %q, want ${DS_PROMETHEUS}", p.Title, p.Datasource.UID)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no targets", p.Title)
		}
		for _, tg := range p.Targets {
			if tg.Datasource.UID != "" && tg.Datasource.UID != "${DS_PROMETHEUS}" {
				t.Errorf("panel %q target %s: datasource uid %q, want ${DS_PROMETHEUS}", p.Title, tg.RefID, tg.Datasource.UID)
			}
			for _, m := range obsMetricNames(tg.Expr) {
				shown[m] = true
			}
			prom.requireSeries(t, fmt.Sprintf("panel %q [%s %s]", p.Title, tg.RefID, tg.LegendFormat), tg.Expr, at, window)
		}
	}
	for _, m := range obsDesignMetrics {
		if !shown[m] {
			t.Errorf("no dashboard panel shows %s", m)
		}
	}
	var hasDS bool
	for _, v := range dash.Templating.List {
		switch v.Type {
		case "datasource":
			hasDS = hasDS || (v.Name == "DS_PROMETHEUS" && string(v.Query) == `"prometheus"`)
		case "query":
			var q struct{ Query string }
			if err := json.Unmarshal(v.Query, &q); err != nil {
				t.Errorf("variable %s: query: %v", v.Name, err)
				continue
			}
			m := regexp.MustCompile(`^label_values\((.+),\s*(\w+)\)$`).FindStringSubmatch(q.Query)
			if m == nil {
				t.Errorf("variable %s: query %q is not label_values(selector, label)", v.Name, q.Query)
				continue
			}
			prom.requireSeries(t, "variable $"+v.Name, "count by ("+m[2]+") ("+m[1]+")", at, window)
		}
	}
	if !hasDS {
		t.Error(`dashboard: no datasource variable DS_PROMETHEUS of type "prometheus"`)
	}
}

// obsCheckRules requires Prometheus to have loaded and evaluated every rule
// without error, evaluates each expression, and requires that the alerts
// this run provokes did fire: dead letter firing now, breaker at least
// pending during the outage. For a rule that is quiet now, each metric it
// reads must have series.
func obsCheckRules(t *testing.T, prom *obsProm, rules []obsRule, at time.Time, window string) {
	t.Helper()
	var resp struct {
		Data struct {
			Groups []struct {
				Rules []struct{ Name, Health, LastError string }
			}
		}
	}
	prom.get(t, "/api/v1/rules", nil, &resp)
	health := map[string]string{}
	for _, g := range resp.Data.Groups {
		for _, r := range g.Rules {
			health[r.Name] = r.Health + " " + r.LastError
		}
	}
	for _, r := range rules {
		name := r.Alert + r.Record
		if r.For == "" {
			r.For = "0s"
		}
		if h := strings.TrimSpace(health[name]); h != "ok" {
			t.Errorf("rule %s: Prometheus reports health %q, want ok", name, h)
		}
		res, err := prom.query(r.Expr, at)
		switch {
		case err != nil:
			t.Errorf("rule %s: %v", name, err)
		case len(res) > 0:
			t.Logf("rule %s [for %s]: %s\n    = %s (active)", name, r.For, obsOneLine(r.Expr), obsFormat(res))
		default:
			t.Logf("rule %s [for %s]: %s\n    = no series (quiet now)", name, r.For, obsOneLine(r.Expr))
			for _, m := range obsMetricNames(r.Expr) {
				prom.requireSeries(t, "rule "+name+" reads", m, at, window)
			}
		}
	}
	prom.requireSeries(t, "alert KRCRecordsDeadLettered firing",
		`ALERTS{alertname="KRCRecordsDeadLettered", alertstate="firing", reason="entry_too_large"}`, at, window)
	prom.requireSeries(t, "alert KRCCircuitBreakerOpen raised during the outage",
		`max_over_time(ALERTS{alertname="KRCCircuitBreakerOpen"}[`+window+`])`, at, window)
}

// obsCheckStats requires the /stats fields DESIGN.md lists, and the trip
// and dead letter of this run in them.
func obsCheckStats(t *testing.T, u string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatalf("GET /stats: %v", err)
	}
	defer resp.Body.Close()
	var doc map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatalf("GET /stats: %v", err)
	}
	field := func(path string) any {
		var v any = doc
		for _, k := range strings.Split(path, ".") {
			m, _ := v.(map[string]any)
			v = m[k]
		}
		return v
	}
	for _, f := range []string{"throughput.events_per_second", "batching.efficiency", "batching.avg_batch_size",
		"latency.avg_ms", "latency.p95_ms", "latency.p99_ms", "circuit_breaker.state", "circuit_breaker.trips",
		"drops.rate", "dlq.count", "lag"} {
		if field(f) == nil {
			t.Errorf("/stats: no field %s", f)
		}
	}
	if n, _ := field("circuit_breaker.trips").(float64); n < 1 {
		t.Errorf("/stats circuit_breaker.trips: got %v, want >= 1", field("circuit_breaker.trips"))
	}
	if n, _ := field("dlq.count").(float64); n != 1 {
		t.Errorf("/stats dlq.count: got %v, want 1", field("dlq.count"))
	}
	b, _ := json.Marshal(doc)
	t.Logf("/stats: %s", b)
}

// obsProm is a Prometheus server run for one test.
type obsProm struct{ base string }

func obsStartPrometheus(t *testing.T, bin, deploy, target string) *obsProm {
	t.Helper()
	dir := t.TempDir()
	cfg, err := os.ReadFile(filepath.Join(deploy, "prometheus", "prometheus.yml"))
	if err != nil {
		t.Fatal(err)
	}
	// The shipped config, scraping this test's connector every second; the
	// alert rules are the shipped file, next to it as in deploy/.
	text := string(cfg)
	for old, repl := range map[string]string{
		`"connector:8080"`: `"` + target + `"`, "scrape_interval: 15s": "scrape_interval: 1s",
		"evaluation_interval: 15s": "evaluation_interval: 1s"} {
		if !strings.Contains(text, old) {
			t.Fatalf("deploy/prometheus/prometheus.yml: no %q to adapt for the test", old)
		}
		text = strings.ReplaceAll(text, old, repl)
	}
	rules, err := os.ReadFile(filepath.Join(deploy, "prometheus", "alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"prometheus.yml": []byte(text), "alerts.yml": rules} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	listen := freeAddr(t)
	logPath := filepath.Join(dir, "prometheus.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+listen)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start prometheus: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
		if t.Failed() {
			t.Logf("--- prometheus log (last 40 lines):\n%s", tail(logPath, 40))
		}
	})
	p := &obsProm{base: "http://" + listen}
	for deadline := time.Now().Add(30 * time.Second); ; {
		if resp, err := http.Get(p.base + "/-/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case <-done:
			t.Fatalf("prometheus exited at start:\n%s", tail(logPath, 40))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus on %s not ready after 30s:\n%s", listen, tail(logPath, 40))
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("prometheus %s on %s scraping %s every 1s", bin, listen, target)
	return p
}

// obsSample is one series of an instant query result.
type obsSample struct {
	labels map[string]string
	value  float64
}

func (p *obsProm) get(t *testing.T, path string, q url.Values, into any) {
	t.Helper()
	if err := p.fetch(path, q, into); err != nil {
		t.Fatal(err)
	}
}

func (p *obsProm) fetch(path string, q url.Values, into any) error {
	resp, err := http.Get(p.base + path + "?" + q.Encode())
	if err != nil {
		return fmt.Errorf("prometheus %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var status struct{ Status, Error string }
	if err := json.Unmarshal(body, &status); err != nil {
		return fmt.Errorf("prometheus %s (HTTP %d): %w", path, resp.StatusCode, err)
	}
	if status.Status != "success" {
		return fmt.Errorf("prometheus %s (HTTP %d): %s", path, resp.StatusCode, status.Error)
	}
	return json.Unmarshal(body, into)
}

// query evaluates expr at one instant.
func (p *obsProm) query(expr string, at time.Time) ([]obsSample, error) {
	var resp struct {
		Data struct {
			ResultType string
			Result     json.RawMessage
		}
	}
	q := url.Values{"query": {expr}, "time": {strconv.FormatFloat(float64(at.UnixMilli())/1000, 'f', 3, 64)}}
	if err := p.fetch("/api/v1/query", q, &resp); err != nil {
		return nil, err
	}
	var out []obsSample
	switch resp.Data.ResultType {
	case "vector":
		var vec []struct {
			Metric map[string]string
			Value  [2]any
		}
		if err := json.Unmarshal(resp.Data.Result, &vec); err != nil {
			return nil, err
		}
		for _, s := range vec {
			v, _ := strconv.ParseFloat(fmt.Sprint(s.Value[1]), 64)
			out = append(out, obsSample{s.Metric, v})
		}
	case "scalar":
		var sc [2]any
		if err := json.Unmarshal(resp.Data.Result, &sc); err != nil {
			return nil, err
		}
		v, _ := strconv.ParseFloat(fmt.Sprint(sc[1]), 64)
		out = append(out, obsSample{nil, v})
	default:
		return nil, fmt.Errorf("result type %s, want vector or scalar", resp.Data.ResultType)
	}
	return out, nil
}

// requireSeries expands the dashboard variables in expr, evaluates it, logs
// what it returned, and fails the test when it is invalid or empty.
func (p *obsProm) requireSeries(t *testing.T, what, expr string, at time.Time, window string) {
	t.Helper()
	expanded, err := obsExpand(expr, window)
	if err != nil {
		t.Errorf("%s: %v", what, err)
		return
	}
	res, err := p.query(expanded, at)
	switch {
	case err != nil:
		t.Errorf("%s: %s: %v", what, obsOneLine(expr), err)
	case len(res) == 0:
		t.Errorf("%s: %s: no series", what, obsOneLine(expanded))
	default:
		t.Logf("%s: %s\n    = %s", what, obsOneLine(expr), obsFormat(res))
	}
}

// waitValue waits until expr's largest value reaches want.
func (p *obsProm) waitValue(t *testing.T, c *connectorProcess, what, expr string, want float64) {
	t.Helper()
	waitFor(t, time.Minute, what+" in Prometheus ("+expr+")", []*connectorProcess{c},
		func(context.Context) (bool, string) {
			res, err := p.query(expr, time.Now())
			if err != nil {
				return false, err.Error()
			}
			got := math.Inf(-1)
			for _, s := range res {
				got = math.Max(got, s.value)
			}
			return got >= want, fmt.Sprintf("got %v, want >= %v", obsFormat(res), want)
		})
}

var (
	obsVarRef     = regexp.MustCompile(`\$\{?(\w+)\}?`)
	obsMetricName = regexp.MustCompile(`\b(krc_[a-z0-9_]+|up)\b`)
)

// obsExpand replaces the Grafana variables the dashboard may use: $job and
// $instance as "All", the interval macros as the given window.
func obsExpand(expr, window string) (string, error) {
	var unknown []string
	out := obsVarRef.ReplaceAllStringFunc(expr, func(ref string) string {
		switch name := obsVarRef.FindStringSubmatch(ref)[1]; name {
		case "job", "instance":
			return ".*"
		case "__rate_interval", "__range", "__interval":
			return window
		default:
			unknown = append(unknown, ref)
			return ref
		}
	})
	if len(unknown) > 0 {
		return "", fmt.Errorf("unknown variables %v in %s", unknown, expr)
	}
	return out, nil
}

// obsMetricNames lists the connector metrics (and up) that expr reads.
func obsMetricNames(expr string) []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range obsMetricName.FindAllString(expr, -1) {
		if !seen[m] {
			seen[m] = true
			out = append(out, m)
		}
	}
	return out
}

func obsFormat(res []obsSample) string {
	parts := make([]string, 0, len(res))
	for _, s := range res {
		var ls []string
		for k, v := range s.labels {
			if k != "__name__" && k != "job" && k != "instance" {
				ls = append(ls, k+"="+v)
			}
		}
		sort.Strings(ls)
		val := strconv.FormatFloat(s.value, 'g', 4, 64)
		if len(ls) > 0 {
			val = "{" + strings.Join(ls, ",") + "} " + val
		}
		parts = append(parts, val)
	}
	sort.Strings(parts)
	return strings.Join(parts, "; ")
}

func obsOneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// obsDashboard is the part of a Grafana dashboard the test reads.
type obsDashboard struct {
	Panels     []obsPanel
	Templating struct {
		List []struct {
			Name, Type string
			Query      json.RawMessage
		}
	}
}

type obsPanel struct {
	ID         int
	Title      string
	Datasource struct{ UID string }
	Targets    []struct {
		Expr, RefID, LegendFormat string
		Datasource                struct{ UID string }
	}
	Panels []obsPanel // a collapsed row's panels
}

func (d obsDashboard) allPanels() []obsPanel {
	var out []obsPanel
	for _, p := range d.Panels {
		if len(p.Targets) > 0 || len(p.Panels) == 0 {
			out = append(out, p)
		}
		out = append(out, p.Panels...)
	}
	return out
}

func obsCountExprs(d obsDashboard) int {
	n := 0
	for _, p := range d.allPanels() {
		n += len(p.Targets)
	}
	return n
}

func obsLoadDashboard(t *testing.T, path string) obsDashboard {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var d obsDashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	ids := map[int]string{}
	for _, p := range d.allPanels() {
		if prev, dup := ids[p.ID]; dup {
			t.Errorf("%s: panels %q and %q share id %d", path, prev, p.Title, p.ID)
		}
		ids[p.ID] = p.Title
	}
	return d
}

// obsRule is one rule of a Prometheus rule file.
type obsRule struct{ Alert, Record, Expr, For string }

func obsLoadRules(t *testing.T, path string) []obsRule {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f struct{ Groups []struct{ Rules []obsRule } }
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var out []obsRule
	for _, g := range f.Groups {
		out = append(out, g.Rules...)
	}
	if len(out) == 0 {
		t.Fatalf("%s: no rules", path)
	}
	return out
}

// obsLookPath finds a Prometheus tool; without it the test skips, or fails
// in CI (.ci/run installs the Debian package prometheus).
func obsLookPath(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("CI is set but %s is not installed (Debian package prometheus)", name)
	}
	t.Skipf("needs %s (Debian package prometheus: apt-get install prometheus)", name)
	return ""
}

func obsRun(t *testing.T, name string, args ...string) {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
	t.Logf("%s %s: %s", filepath.Base(name), strings.Join(args[:2], " "), obsOneLine(string(out)))
}

// obsWaitHTTP waits until GET u answers with status want.
func obsWaitHTTP(t *testing.T, c *connectorProcess, u string, want int) {
	t.Helper()
	waitFor(t, 30*time.Second, fmt.Sprintf("GET %s to answer %d", u, want), []*connectorProcess{c},
		func(context.Context) (bool, string) {
			resp, err := http.Get(u)
			if err != nil {
				return false, err.Error()
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return resp.StatusCode == want, fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(string(body)))
		})
}

// obsProxy forwards TCP connections to a target. While down, it closes
// every open connection and each new one as soon as it is accepted, so the
// connector sees Redis fail without the shared redis-server being touched.
type obsProxy struct {
	addr, target string
	ln           net.Listener
	wg           sync.WaitGroup

	mu    sync.Mutex
	down  bool
	conns map[net.Conn]struct{}
}

func obsStartProxy(t *testing.T, target string) *obsProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &obsProxy{addr: ln.Addr().String(), target: target, ln: ln, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		_ = ln.Close()
		p.setDown(true)
		p.wg.Wait()
	})
	return p
}

func (p *obsProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if !p.track(c) {
			_ = c.Close()
			continue
		}
		p.wg.Add(1)
		go p.forward(c)
	}
}

func (p *obsProxy) forward(c net.Conn) {
	defer p.wg.Done()
	defer p.untrack(c)
	u, err := net.DialTimeout("tcp", p.target, 2*time.Second)
	if err != nil || !p.track(u) {
		if u != nil {
			_ = u.Close()
		}
		return
	}
	defer p.untrack(u)
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(u, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, u); done <- struct{}{} }()
	<-done
	_ = c.Close()
	_ = u.Close()
	<-done
}

// track registers c unless the proxy is down.
func (p *obsProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.down {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *obsProxy) untrack(c net.Conn) {
	_ = c.Close()
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

func (p *obsProxy) setDown(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	if down {
		for c := range p.conns {
			_ = c.Close()
		}
	}
}
