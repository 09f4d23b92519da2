package bench

import "fmt"

// Guard is the regression guard of `make bench-quick`: floors on ratios
// between contenders of one run, never on an absolute rate or time, so a
// slow or busy machine slows every contender alike and does not fail it.
// The floors are far below what the bench measures: they catch a gross
// regression (a connector suddenly half as fast as Redis takes entries),
// not noise.
type Guard struct {
	// MinTunedOverCeiling is the floor on tuned/ceiling.
	MinTunedOverCeiling float64
	// MinDefaultOverCeiling is the floor on default/ceiling.
	MinDefaultOverCeiling float64
	// MinTunedOverNaive is the floor on tuned/naive.
	MinTunedOverNaive float64
}

// QuickGuard is bench-quick's guard. With the broker embedded in the bench
// process (kfake, which competes with the connector for the CPU) and a
// private redis-server on a shared 2-core machine, bench-quick measured
// tuned/ceiling 0.56, default/ceiling 0.39 and tuned/naive 4.0: each floor
// is about half of that, so only a connector that got twice as slow
// relative to Redis, or to the naive loop, fails.
func QuickGuard() Guard {
	return Guard{MinTunedOverCeiling: 0.3, MinDefaultOverCeiling: 0.15, MinTunedOverNaive: 2}
}

// Check returns one message per figure below its floor, or missing; none
// means the run passes.
func (g Guard) Check(s Summary) []string {
	var out []string
	for _, c := range []struct {
		name   string
		figure float64
	}{{"ceiling", s.Ceiling}, {"naive", s.Naive}, {"default", s.Default}, {"tuned", s.Tuned}} {
		if !(c.figure > 0) {
			out = append(out, fmt.Sprintf("%s=%.0f: no events/s measured", c.name, c.figure))
		}
	}
	if len(out) > 0 {
		return out
	}
	for _, c := range []struct {
		name       string
		got, floor float64
	}{
		{"tuned/ceiling", ratio(s.Tuned, s.Ceiling), g.MinTunedOverCeiling},
		{"default/ceiling", ratio(s.Default, s.Ceiling), g.MinDefaultOverCeiling},
		{"tuned/naive", ratio(s.Tuned, s.Naive), g.MinTunedOverNaive},
	} {
		if c.got < c.floor {
			out = append(out, fmt.Sprintf("%s=%.3f, below the floor of %.2f", c.name, c.got, c.floor))
		}
	}
	return out
}

// String names the floors.
func (g Guard) String() string {
	return fmt.Sprintf("tuned/ceiling >= %.2f, default/ceiling >= %.2f, tuned/naive >= %.1f",
		g.MinTunedOverCeiling, g.MinDefaultOverCeiling, g.MinTunedOverNaive)
}
