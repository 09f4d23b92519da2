package bench_test

import (
	"strings"
	"testing"

	"github.com/kafka-redis-connector/kafka-redis-connector/bench"
)

func TestParseLine(t *testing.T) {
	const line = "bench: raw=579992 naive=95594 default=265209 tuned=384690 ceiling=687998 tuned/raw=0.66 tuned/naive=4.0" +
		" default/tuned=0.69 tuned/ceiling=0.56 cpu_us_per_event=1.15 rss_mib=123.7"
	s, err := bench.ParseLine(line)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	if s.Tuned != 384690 || s.Ceiling != 687998 || s.TunedOverCeiling != 0.56 || s.RSSMiB != 123.7 {
		t.Errorf("got %+v, want the line's figures", s)
	}
	if got := s.Line(); got != line {
		t.Errorf("Line: got %q, want %q", got, line)
	}
	for _, tc := range []struct {
		name, line, want string
	}{
		{"a newer bench's extra key is skipped", line + " avro=1234", ""},
		{"not a bench line", "loadgen: sent=1", `does not start with "bench:"`},
		{"a key missing", strings.Replace(line, " ceiling=687998", "", 1), "no ceiling="},
		{"a bad number", strings.Replace(line, "tuned=384690", "tuned=fast", 1), "tuned:"},
		{"not key=value", line + " oops", `"oops" is not key=value`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := bench.ParseLine(tc.line)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("got %v, want no error", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
