package main

import (
	"bytes"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/alicebob/miniredis/v2"

	"github.com/kafka-redis-connector/kafka-redis-connector/bench"
)

// asMainEnv marks a process started from this test binary as the command
// itself: bench runs its connector contenders as `<its own executable>
// run`, which here is the test binary.
const asMainEnv = "KAFKA_REDIS_CONNECTOR_TEST_AS_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(asMainEnv) == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Setenv(asMainEnv, "1")
	os.Exit(m.Run())
}

func TestBenchCommand(t *testing.T) {
	addr := miniredis.RunT(t).Addr()
	quick := []string{"bench", "--redis-addr", addr, "--records", "5000", "--rounds", "1", "--naive-budget", "500ms",
		"--paced-rate", "500", "--paced-duration", "200ms", "--latency-duration", "0", "-q"}
	line := regexp.MustCompile(`(?m)^bench: raw=\d+ naive=\d+ default=\d+ tuned=\d+ ceiling=\d+ tuned/raw=[0-9.]+ tuned/naive=[0-9.]+` +
		` default/tuned=[0-9.]+ tuned/ceiling=[0-9.]+ cpu_us_per_event=[0-9.]+ rss_mib=[0-9.]+\n\z`)
	for _, tc := range []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout *regexp.Regexp
		wantStderr string
	}{
		{name: "ends with the bench line", args: quick, wantCode: 0, wantStdout: line},
		{name: "json", args: append(quick, "--json"), wantCode: 0, wantStdout: regexp.MustCompile(`^\{`)},
		{name: "no records", args: []string{"bench", "--records", "0", "--redis-addr", addr}, wantCode: 2, wantStderr: "records must be positive"},
		{name: "quick and scaling", args: []string{"bench", "--quick", "--scaling"}, wantCode: 2, wantStderr: "takes no --scaling"},
		{name: "quick without redis-server", args: []string{"bench", "--quick", "--redis-server", "no-such-redis-server"}, wantCode: 1,
			wantStderr: "no redis-server executable"},
		{name: "two modes", args: []string{"bench", "--scaling", "--latency"}, wantCode: 2, wantStderr: "pick one"},
		{name: "no redis", args: []string{"bench", "--redis-addr", "127.0.0.1:1"}, wantCode: 1, wantStderr: "no redis answers at 127.0.0.1:1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tc.args, &stdout, &stderr)
			if code != tc.wantCode {
				t.Fatalf("exit code: got %d, want %d (stderr: %s)", code, tc.wantCode, stderr.String())
			}
			if tc.wantStdout != nil && !tc.wantStdout.MatchString(stdout.String()) {
				t.Errorf("stdout: got %q, want it to match %s", stdout.String(), tc.wantStdout)
			}
			if !strings.Contains(stderr.String(), tc.wantStderr) {
				t.Errorf("stderr: got %q, want it to contain %q", stderr.String(), tc.wantStderr)
			}
			if strings.Contains(strings.Join(tc.args, " "), "--json") {
				var v map[string]any
				if err := json.Unmarshal(stdout.Bytes(), &v); err != nil || v["tuned/raw"] == nil || v["tuned/ceiling"] == nil {
					t.Errorf("json: got %v, %v, want an object with tuned/raw and tuned/ceiling", v, err)
				}
				// The connector contenders ran as processes of their own, and
				// the exactly-once one among them.
				if !strings.Contains(stdout.String(), `"tuned-exactly-once"`) {
					t.Errorf("json: no tuned-exactly-once run in %s", stdout.String())
				}
				if got := strings.Count(stdout.String(), "the connector binary in a process of its own"); got != 3 {
					t.Errorf("json: got %d contenders in a process of their own, want 3 (default, tuned, tuned-exactly-once)", got)
				}
			}
		})
	}
}

func TestBenchGuard(t *testing.T) {
	healthy := bench.Summary{Ceiling: 600_000, Naive: 50_000, Default: 250_000, Tuned: 400_000}
	slow := healthy
	slow.Tuned = 100_000
	for _, tc := range []struct {
		name       string
		s          bench.Summary
		wantErr    string
		wantStderr string
	}{
		{"passes", healthy, "", "regression guard passed"},
		{"fails naming the figure", slow, "regression guard failed", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			err := guard(tc.s, &stderr)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr) ||
				!strings.Contains(err.Error(), "tuned/ceiling=0.167")) {
				t.Fatalf("got %v, want %q", err, tc.wantErr)
			}
			if !strings.Contains(stderr.String(), tc.wantStderr) {
				t.Errorf("stderr: got %q, want %q", stderr.String(), tc.wantStderr)
			}
		})
	}
}
