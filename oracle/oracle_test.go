package oracle_test

import (
	"testing"

	"github.com/kafka-redis-connector/kafka-redis-connector/oracle"
)

// ps is a (partition, sequence) pair.
type ps struct {
	p int32
	s int64
}

// seqs returns (p, from) .. (p, to-1).
func seqs(p int32, from, to int64) []ps {
	var out []ps
	for s := from; s < to; s++ {
		out = append(out, ps{p, s})
	}
	return out
}

func TestChecker(t *testing.T) {
	tests := []struct {
		name     string
		expected []ps
		observed []ps
		want     oracle.Report
		wantOK   bool
	}{
		{
			name:   "nothing",
			want:   oracle.Report{},
			wantOK: true,
		},
		{
			name:     "all in order",
			expected: seqs(0, 0, 5),
			observed: seqs(0, 0, 5),
			want:     oracle.Report{Expected: 5, Entries: 5},
			wantOK:   true,
		},
		{
			name:     "lost",
			expected: seqs(0, 0, 5),
			observed: []ps{{0, 0}, {0, 1}, {0, 3}},
			want:     oracle.Report{Expected: 5, Entries: 3, Lost: 2},
		},
		{
			name:     "nothing observed",
			expected: append(seqs(0, 0, 3), seqs(1, 0, 2)...),
			want:     oracle.Report{Expected: 5, Lost: 5},
		},
		{
			name:     "duplicated right after",
			expected: seqs(0, 0, 3),
			observed: []ps{{0, 0}, {0, 1}, {0, 1}, {0, 2}},
			want:     oracle.Report{Expected: 3, Entries: 4, Duplicated: 1},
			wantOK:   true,
		},
		{
			name:     "redelivered tail is duplicated, not out of order",
			expected: seqs(0, 0, 4),
			observed: []ps{{0, 0}, {0, 1}, {0, 2}, {0, 3}, {0, 1}, {0, 2}, {0, 3}},
			want:     oracle.Report{Expected: 4, Entries: 7, Duplicated: 3},
			wantOK:   true,
		},
		{
			name:     "three copies",
			expected: seqs(0, 0, 1),
			observed: []ps{{0, 0}, {0, 0}, {0, 0}},
			want:     oracle.Report{Expected: 1, Entries: 3, Duplicated: 2},
			wantOK:   true,
		},
		{
			name:     "swapped pair",
			expected: seqs(0, 0, 3),
			observed: []ps{{0, 0}, {0, 2}, {0, 1}},
			want:     oracle.Report{Expected: 3, Entries: 3, OutOfOrder: 1},
		},
		{
			name:     "every first occurrence after a higher one counts",
			expected: seqs(0, 0, 3),
			observed: []ps{{0, 2}, {0, 0}, {0, 1}},
			want:     oracle.Report{Expected: 3, Entries: 3, OutOfOrder: 2},
		},
		{
			name:     "late record also lost elsewhere",
			expected: seqs(0, 0, 4),
			observed: []ps{{0, 0}, {0, 3}, {0, 1}},
			want:     oracle.Report{Expected: 4, Entries: 3, OutOfOrder: 1, Lost: 1},
		},
		{
			name:     "order is per partition",
			expected: append(seqs(0, 0, 3), seqs(1, 0, 3)...),
			observed: []ps{{1, 0}, {1, 1}, {0, 0}, {1, 2}, {0, 1}, {0, 2}},
			want:     oracle.Report{Expected: 6, Entries: 6},
			wantOK:   true,
		},
		{
			name:     "same sequence in two partitions is two records",
			expected: []ps{{0, 7}, {1, 7}},
			observed: []ps{{0, 7}, {1, 7}},
			want:     oracle.Report{Expected: 2, Entries: 2},
			wantOK:   true,
		},
		{
			name:     "gaps in sequences are fine",
			expected: []ps{{0, 0}, {0, 10}, {0, 20}},
			observed: []ps{{0, 0}, {0, 10}, {0, 20}},
			want:     oracle.Report{Expected: 3, Entries: 3},
			wantOK:   true,
		},
		{
			name:     "unexpected sequence",
			expected: seqs(0, 0, 2),
			observed: []ps{{0, 0}, {0, 99}, {0, 1}},
			want:     oracle.Report{Expected: 2, Entries: 2, Unexpected: 1},
		},
		{
			name:     "unexpected partition",
			expected: seqs(0, 0, 1),
			observed: []ps{{0, 0}, {5, 0}, {5, 0}},
			want:     oracle.Report{Expected: 1, Entries: 1, Unexpected: 2},
		},
		{
			name:     "expected twice counts once",
			expected: []ps{{0, 0}, {0, 0}, {0, 1}},
			observed: seqs(0, 0, 2),
			want:     oracle.Report{Expected: 2, Entries: 2},
			wantOK:   true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := oracle.NewChecker()
			for _, e := range tt.expected {
				c.Expect(e.p, e.s)
			}
			for _, o := range tt.observed {
				c.Observe(o.p, o.s)
			}
			got := c.Report()
			if got != tt.want {
				t.Errorf("Report: got %v, want %v", got, tt.want)
			}
			if got.OK() != tt.wantOK {
				t.Errorf("OK() of %v: got %v, want %v", got, got.OK(), tt.wantOK)
			}
			if again := c.Report(); again != got {
				t.Errorf("second Report: got %v, want %v", again, got)
			}
		})
	}
}

func TestReportString(t *testing.T) {
	r := oracle.Report{Expected: 1, Entries: 2, Lost: 3, Duplicated: 4, OutOfOrder: 5, Unexpected: 6}
	want := "expected=1 entries=2 lost=3 duplicated=4 out_of_order=5 unexpected=6"
	if got := r.String(); got != want {
		t.Errorf("String: got %q, want %q", got, want)
	}
}
