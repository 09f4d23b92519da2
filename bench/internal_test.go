package bench

import (
	"bufio"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
)

func TestParseStatCPU(t *testing.T) {
	// A real /proc/<pid>/stat line, with a command name holding spaces and
	// a parenthesis; utime 250 and stime 50 ticks.
	const stat = "4242 (kafka (redis) x) S 1 4242 4242 0 -1 4194560 1234 0 0 0 250 50 0 0 20 0 12 0 9999 123456789 4567 " +
		"18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0"
	for _, tc := range []struct {
		name, stat string
		want       time.Duration
		wantErr    string
	}{
		{"utime + stime in ticks", stat, 3 * time.Second, ""},
		{"no command name", "4242 S 1", 0, "no command name"},
		{"truncated", "4242 (x) S 1 2 3", 0, "fields after the command name"},
		{"not a number", strings.Replace(stat, " 250 ", " x ", 1), 0, "invalid syntax"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseStatCPU([]byte(tc.stat))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want an error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %v, %v, want %v", got, err, tc.want)
			}
		})
	}
}

func TestStatusKB(t *testing.T) {
	status := []byte("Name:\tkafka-redis-con\nVmPeak:\t 1500000 kB\nVmHWM:\t   98304 kB\nVmRSS:\t   65536 kB\n")
	for _, tc := range []struct {
		key    string
		want   uint64
		wantOK bool
	}{
		{"VmHWM", 96 << 20, true},
		{"VmRSS", 64 << 20, true},
		{"VmSwap", 0, false},
		{"Vm", 0, false},
	} {
		if got, ok := statusKB(status, tc.key); got != tc.want || ok != tc.wantOK {
			t.Errorf("%s: got %d, %v, want %d, %v", tc.key, got, ok, tc.want, tc.wantOK)
		}
	}
}

func TestCeilingEncodingAndPlan(t *testing.T) {
	cmds := [][]any{
		{"xadd", "s", "*", "value", []byte("ab")},
		{"xadd", "s", "*", "value", []byte{}},
		{"xadd", "s", "*", "value", []byte("c")},
	}
	buf, ends, err := encodeRESP(nil, cmds)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	first := "*5\r\n$4\r\nxadd\r\n$1\r\ns\r\n$1\r\n*\r\n$5\r\nvalue\r\n$2\r\nab\r\n"
	if got := string(buf[:ends[0]]); got != first {
		t.Errorf("first command: got %q, want %q", got, first)
	}
	if _, _, err := encodeRESP(nil, [][]any{{"xadd", 1}}); err == nil {
		t.Error("an int argument: got no error, want one")
	}
	for _, tc := range []struct {
		name            string
		conns, pipeline int
		want            [][]int // commands per pipeline, per connection
	}{
		{"one connection, pipelines of 2", 1, 2, [][]int{{2, 1}}},
		{"two connections", 2, 1000, [][]int{{2}, {1}}},
		{"more connections than commands", 4, 1, [][]int{{1}, {1}, {1}, nil}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plans := planCeiling(buf, ends, tc.conns, tc.pipeline)
			var joined []byte
			for i, p := range plans {
				if !slices.Equal(p.counts, tc.want[i]) {
					t.Errorf("connection %d: got pipelines of %v, want %v", i, p.counts, tc.want[i])
				}
				for _, b := range p.pipelines {
					joined = append(joined, b...)
				}
			}
			if string(joined) != string(buf) {
				t.Errorf("pipelines together: got %q, want every command once, in order", joined)
			}
		})
	}
}

func TestReadReply(t *testing.T) {
	for _, tc := range []struct {
		name, in, wantErr string
	}{
		{"stream id", "$15\r\n1700000000000-0\r\n", ""},
		{"nil", "$-1\r\n", ""},
		{"status", "+OK\r\n", ""},
		{"error", "-WRONGTYPE Operation against a key\r\n", "redis: WRONGTYPE"},
		{"array", "*1\r\n", "unexpected reply"},
		{"bad length", "$x\r\n", "bad bulk length"},
		{"short bulk", "$15\r\n1700\r\n", "EOF"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := readReply(bufio.NewReader(strings.NewReader(tc.in)))
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("got %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestChildEnv(t *testing.T) {
	tuned := config.Batch{MaxEvents: 1000, MaxBytes: 8 << 20, Timeout: 100 * time.Millisecond, MaxInFlight: 4}
	for _, tc := range []struct {
		name  string
		batch *config.Batch
		want  []string
	}{
		{"defaults: no batch settings at all", nil, nil},
		{"tuned", &tuned, []string{"KRC_BATCH_MAX_EVENTS=1000", "KRC_BATCH_MAX_BYTES=8388608", "KRC_BATCH_TIMEOUT=100ms", "KRC_BATCH_MAX_IN_FLIGHT=4"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := []string{"PATH=/bin", "KRC_BATCH_MAX_EVENTS=7", "KRC_REDIS_PASSWORD=x", "HOME=/root"}
			settings := childSettings([]string{"a:1", "b:2"}, "r:6379", "g", "id", []string{"t1", "t2"}, "{topic}:tuned", "127.0.0.1:1", tc.batch)
			got := childEnv(base, settings)
			want := append([]string{"PATH=/bin", "HOME=/root", "KRC_KAFKA_BROKERS=a:1,b:2", "KRC_KAFKA_GROUP=g", "KRC_KAFKA_TOPICS=t1,t2",
				"KRC_KAFKA_CLIENT_ID=id", "KRC_REDIS_ADDRS=r:6379", "KRC_STREAM_KEY={topic}:tuned", "KRC_HTTP_LISTEN=127.0.0.1:1"}, tc.want...)
			if !slices.Equal(got, want) {
				t.Errorf("got %q, want %q", got, want)
			}
			if _, err := config.Load("", got); err != nil {
				t.Errorf("the connector's config loader rejects the environment: %v", err)
			}
		})
	}
}

func TestChildMeasurement(t *testing.T) {
	before := procUsage{cpu: 200 * time.Millisecond, rss: 20 << 20, peak: 20 << 20}
	after := procUsage{cpu: 1700 * time.Millisecond, rss: 80 << 20, peak: 90 << 20}
	m := childMeasurement("tuned", 1_000_000, 100, 2*time.Second, before, after)
	if m.EventsPerSec != 500_000 || m.MBPerSec != 50 || m.CPUUsPerEvent != 1.5 || m.PeakRSSMiB != 90 || m.StartRSSMiB != 20 {
		t.Errorf("got %+v, want 500,000 events/s, 50 MB/s, 1.5 µs/event, 90 MiB peak, 20 MiB at start", m)
	}
}

func TestTailWriter(t *testing.T) {
	w := &tailWriter{max: 5}
	for _, s := range []string{"abc", "defg", "h"} {
		if n, err := w.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatalf("write %q: got %d, %v", s, n, err)
		}
	}
	if got := w.String(); got != "defgh" {
		t.Errorf("got %q, want the last 5 bytes %q", got, "defgh")
	}
}

func TestRedisBenchmark(t *testing.T) {
	args, err := redisBenchmarkArgs("127.0.0.1:6390", []any{"xadd", "s", "*", "value", []byte("a b")}, 1000, 4, 64)
	want := []string{"-h", "127.0.0.1", "-p", "6390", "-n", "1000", "-c", "4", "-P", "64", "--csv", "xadd", "s", "*", "value", "a b"}
	if err != nil || !slices.Equal(args, want) {
		t.Errorf("args: got %q, %v, want %q", args, err, want)
	}
	// redis-benchmark 7.0's --csv output; the command line in the first
	// column holds quotes and commas of its own here.
	const v7 = `"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
"XADD s * value lg1:"x","y";... key key-3","401929.28","1.096","0.312","0.751","3.143","5.223","11.703"
`
	for _, tc := range []struct {
		name, out string
		want      float64
		wantErr   bool
	}{
		{"redis 7", v7, 401929.28, false},
		{"redis 6 (two columns)", "\"test\",\"rps\"\n\"XADD s *\",\"250000.00\"\n", 250000, false},
		{"no header", `"XADD s *","1.0"`, 0, true},
		{"no result", strings.SplitN(v7, "\n", 2)[0], 0, true},
		{"not a number", strings.Replace(v7, "401929.28", "fast", 1), 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseRedisBenchmarkCSV([]byte(tc.out))
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Fatalf("got %v, %v, want %v (error: %v)", got, err, tc.want, tc.wantErr)
			}
		})
	}
}
