package bench_test

import (
	"context"
	"errors"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/kafka-redis-connector/kafka-redis-connector/bench"
)

// quick is a bench small enough for a test: an embedded broker, an
// in-process Redis, 20,000 records and short latency phases.
func quick(t *testing.T) bench.Config {
	cfg := bench.DefaultConfig()
	cfg.RedisAddr = miniredis.RunT(t).Addr()
	cfg.Records = 20_000
	cfg.NaiveBudget = time.Second
	cfg.Rounds = 1
	cfg.PacedRate = 500
	cfg.PacedDuration = 300 * time.Millisecond
	cfg.LatencyRate = 500
	cfg.LatencyDuration = 500 * time.Millisecond
	cfg.PhaseTimeout = time.Minute
	return cfg
}

var benchLine = regexp.MustCompile(`^bench: raw=(\d+) naive=(\d+) default=(\d+) tuned=(\d+) ceiling=(\d+) tuned/raw=([0-9.]+) tuned/naive=([0-9.]+)` +
	` default/tuned=([0-9.]+) tuned/ceiling=([0-9.]+) cpu_us_per_event=([0-9.]+) rss_mib=([0-9.]+)$`)

func TestRunEndToEnd(t *testing.T) {
	cfg := quick(t)
	cfg.Rounds = 2
	res, err := bench.Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	line := res.Summary().Line()
	m := benchLine.FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("bench line: got %q, want it to match %s", line, benchLine)
	}
	names := []string{"raw", "naive", "default", "tuned", "ceiling", "tuned/raw", "tuned/naive", "default/tuned", "tuned/ceiling",
		"cpu_us_per_event", "rss_mib"}
	for i, name := range names {
		v, err := strconv.ParseFloat(m[i+1], 64)
		if err != nil || v <= 0 {
			t.Errorf("%s: got %q, want a positive number", name, m[i+1])
		}
	}
	if parsed, err := bench.ParseLine(line); err != nil || parsed.Line() != line {
		t.Errorf("ParseLine(%q): got %+v, %v, want the same line back", line, parsed, err)
	}
	for i, want := range []string{"ceiling", "raw", "naive", "default", "tuned"} {
		r := res.Runs[i]
		if r.Name != want {
			t.Fatalf("run %d: got %s, want %s", i, r.Name, want)
		}
		if want != "naive" && r.Records != cfg.Records {
			t.Errorf("%s: got %d records, want %d", want, r.Records, cfg.Records)
		}
		if want == "ceiling" {
			if r.OverCeiling != 1 {
				t.Errorf("ceiling over itself: got %.2f, want 1", r.OverCeiling)
			}
			continue
		}
		if r.LatencyP99Ms <= 0 || r.LatencyP99Ms < r.LatencyP50Ms {
			t.Errorf("%s: latency p50 %.2fms p99 %.2fms, want 0 < p50 <= p99", want, r.LatencyP50Ms, r.LatencyP99Ms)
		}
		if len(r.Rounds) != 2 || max(r.Rounds[0], r.Rounds[1]) != math.Round(r.EventsPerSec) {
			t.Errorf("%s: rounds %v, want 2 with the best reported (%.0f)", want, r.Rounds, r.EventsPerSec)
		}
	}
	l := res.Latency
	if l == nil || l.Records == 0 || l.Lost != 0 || l.OutOfOrder != 0 || l.MaxMs < l.P99Ms {
		t.Fatalf("latency run: got %+v, want records, nothing lost, max >= p99", l)
	}
	var table strings.Builder
	res.WriteTable(&table)
	if !strings.Contains(table.String(), "embedded kfake") || !strings.Contains(table.String(), "latency run") {
		t.Errorf("table: got %q, want the broker named and the latency run", table.String())
	}
	js, err := res.JSON()
	if err != nil || !strings.Contains(string(js), `"tuned/raw":`) {
		t.Fatalf("json: got %s, %v, want the bench line's keys", js, err)
	}
}

func TestScalingCells(t *testing.T) {
	cfg := quick(t)
	sc := bench.ScalingConfig{Partitions: []int32{1, 4}, ValueBytes: []int{100, 2048}, Records: 2000, MaxBytes: 2 << 20}
	cells, err := bench.RunScaling(context.Background(), cfg, sc)
	if err != nil {
		t.Fatalf("scaling: %v", err)
	}
	if len(cells) != 4 {
		t.Fatalf("cells: got %d, want 4", len(cells))
	}
	for _, c := range cells {
		if c.Records != min(2000, int64(2<<20)/int64(c.ValueBytes)) || c.EventsPerSec <= 0 || c.RawEPS <= 0 {
			t.Errorf("cell %d x %d B: got %+v, want records capped by bytes and positive rates", c.Partitions, c.ValueBytes, c)
		}
	}
	var out strings.Builder
	bench.WriteScalingTable(&out, cells)
	if got := strings.Count(out.String(), "\n"); got != 6 {
		t.Errorf("table: got %d lines, want 6:\n%s", got, out.String())
	}
}

func TestRunErrors(t *testing.T) {
	noRedis := bench.DefaultConfig()
	noRedis.RedisAddr = "127.0.0.1:1"
	bad := quick(t)
	bad.Records = 0
	for _, tc := range []struct {
		name string
		cfg  bench.Config
		want error
	}{
		{"no redis", noRedis, bench.ErrNoRedis},
		{"no records", bad, bench.ErrInvalidConfig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := bench.Run(context.Background(), tc.cfg); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}
