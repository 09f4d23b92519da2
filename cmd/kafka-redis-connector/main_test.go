package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
)

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("kafka:\n  brokers: []\n  brokerz: [x]\nflush_timeout: 5 parsecs\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, []byte("redis:\n  password: hunter2-secret\nbatch:\n  max_events: 500\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout []string
		wantStderr []string
		notStdout  []string
	}{
		{name: "no args", args: nil, wantCode: 2, wantStderr: []string{"Usage:"}},
		{name: "unknown command", args: []string{"frobnicate"}, wantCode: 2, wantStderr: []string{`unknown command "frobnicate"`}},
		{name: "version", args: []string{"version"}, wantCode: 0, wantStdout: []string{"kafka-redis-connector "}},
		{name: "validate names every problem", args: []string{"validate", "--config", bad}, wantCode: 2,
			wantStderr: []string{"kafka.brokerz", "kafka.brokers = []", `flush_timeout = "5 parsecs"`}},
		{name: "validate prints the redacted config", args: []string{"validate", "--config", good}, wantCode: 0,
			wantStdout: []string{"max_events: 500", "password: '[redacted]'"}, notStdout: []string{"hunter2-secret"}},
		{name: "run with a bad config exits 2 before connecting", args: []string{"run", "--config", bad}, wantCode: 2,
			wantStderr: []string{"kafka.brokers"}},
		{name: "run with a missing file", args: []string{"run", "--config", filepath.Join(dir, "nope.yaml")}, wantCode: 2,
			wantStderr: []string{"nope.yaml"}},
		{name: "bad flag", args: []string{"demo", "--rate", "-5"}, wantCode: 2, wantStderr: []string{"--rate must be positive"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tc.args, &stdout, &stderr)
			if code != tc.wantCode {
				t.Fatalf("exit code: got %d, want %d (stderr: %s)", code, tc.wantCode, stderr.String())
			}
			for _, w := range tc.wantStdout {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("stdout: got %q, want it to contain %q", stdout.String(), w)
				}
			}
			for _, w := range tc.wantStderr {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr: got %q, want it to contain %q", stderr.String(), w)
				}
			}
			for _, w := range tc.notStdout {
				if strings.Contains(stdout.String(), w) {
					t.Errorf("stdout: got %q, must not contain %q", stdout.String(), w)
				}
			}
		})
	}
}

// TestDemoLosesNothing runs the README's first command, shortened, under
// both guarantees.
func TestDemoLosesNothing(t *testing.T) {
	for _, g := range []string{config.AtLeastOnce, config.ExactlyOnce} {
		t.Run(g, func(t *testing.T) { testDemoLosesNothing(t, g) })
	}
}

func testDemoLosesNothing(t *testing.T, guarantee string) {
	var stdout, stderr bytes.Buffer
	code := run([]string{"demo", "--duration", "3s", "--rate", "2000", "--http", "", "--guarantee", guarantee}, &stdout, &stderr)
	out := stdout.String()
	if code != 0 {
		t.Fatalf("demo exit code: got %d, want 0\nstdout:\n%s\nstderr:\n%s", code, out, stderr.String())
	}
	live := regexp.MustCompile(`(?m)^\s+\d+s\s+produced=\d+\s+written=\d+\s+events/s=\d+\s+batching=\s*\d+% of \d+\s+in_flight=\d+\s+breaker=CLOSED\s+latency p50=[\d.]+ms p95=[\d.]+ms p99=[\d.]+ms\s+lag=\d+$`)
	if n := len(live.FindAllString(out, -1)); n < 2 {
		t.Errorf("live lines: got %d, want at least 2 in:\n%s", n, out)
	}
	summary := regexp.MustCompile(`(?m)^summary: produced=(\d+) written=(\d+) lost=0 duplicated=0 out_of_order=0 produce_errors=0$`)
	m := summary.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("summary line with lost=0 not found in:\n%s", out)
	}
	if m[1] == "0" || m[1] != m[2] {
		t.Errorf("summary: produced=%s written=%s, want equal and non-zero", m[1], m[2])
	}
}

func TestDemoOutageOpensAndClosesTheBreaker(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run([]string{"demo", "--duration", "6s", "--outage", "1s:2s", "--http", ""}, &stdout, &stderr)
	out := stdout.String()
	if code != 0 {
		t.Fatalf("demo exit code: got %d, want 0\n%s\n%s", code, out, stderr.String())
	}
	for _, want := range []string{"breaker: CLOSED -> OPEN", "breaker: OPEN -> HALF_OPEN", "breaker: HALF_OPEN -> CLOSED", " lost=0 "} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
}
