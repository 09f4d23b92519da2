package bench_test

import (
	"strings"
	"testing"

	"github.com/kafka-redis-connector/kafka-redis-connector/bench"
)

func TestGuardCheck(t *testing.T) {
	g := bench.Guard{MinTunedOverCeiling: 0.5, MinDefaultOverCeiling: 0.2, MinTunedOverNaive: 3}
	healthy := bench.Summary{Ceiling: 600_000, Raw: 500_000, Naive: 20_000, Default: 250_000, Tuned: 400_000}
	with := func(f func(*bench.Summary)) bench.Summary {
		s := healthy
		f(&s)
		return s
	}
	for _, tc := range []struct {
		name string
		s    bench.Summary
		want []string // substrings, one per expected problem
	}{
		{"healthy", healthy, nil},
		{"tuned exactly at its floor", with(func(s *bench.Summary) { s.Tuned = 300_000 }), nil},
		{"tuned below half the ceiling", with(func(s *bench.Summary) { s.Tuned = 299_000 }), []string{"tuned/ceiling=0.498, below the floor of 0.50"}},
		{"default collapsed", with(func(s *bench.Summary) { s.Default = 100_000 }), []string{"default/ceiling=0.167"}},
		{"tuned no better than naive", with(func(s *bench.Summary) { s.Naive = 200_000 }), []string{"tuned/naive=2.000"}},
		{"everything slower alike (a busy machine) passes", bench.Summary{Ceiling: 60_000, Naive: 2_000, Default: 25_000, Tuned: 40_000}, nil},
		{"ceiling missing", with(func(s *bench.Summary) { s.Ceiling = 0 }), []string{"ceiling=0: no events/s measured"}},
		{"tuned and default missing", with(func(s *bench.Summary) { s.Tuned, s.Default = 0, 0 }), []string{"default=0", "tuned=0"}},
		{"two ratios low", with(func(s *bench.Summary) { s.Tuned, s.Default = 100_000, 50_000 }), []string{"tuned/ceiling=0.167", "default/ceiling=0.083"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := g.Check(tc.s)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d problems %q, want %d %q", len(got), got, len(tc.want), tc.want)
			}
			for i, w := range tc.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("problem %d: got %q, want it to contain %q", i, got[i], w)
				}
			}
		})
	}
}
