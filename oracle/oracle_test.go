package oracle_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

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

func newRedis(t *testing.T) (*miniredis.Miniredis, *redis.Client) {
	t.Helper()
	m := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr(), MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })
	return m, rdb
}

func TestReadStream(t *testing.T) {
	// XRANGE pages hold 10000 entries: around one and two pages is where
	// paging can skip or repeat an entry.
	tests := []struct {
		name string
		n    int
	}{
		{"missing stream", 0},
		{"one entry", 1},
		{"one short of a page", 9999},
		{"exactly one page", 10000},
		{"one past a page", 10001},
		{"exactly two pages", 20000},
		{"three pages", 20001},
	}
	m, rdb := newRedis(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := "s:" + strconv.Itoa(tt.n)
			for i := range tt.n {
				// Explicit IDs with two sequences per millisecond also test
				// paging within one millisecond.
				id := fmt.Sprintf("%d-%d", 1+i/2, i%2)
				if _, err := m.XAdd(key, id, []string{"seq", strconv.Itoa(i)}); err != nil {
					t.Fatal(err)
				}
			}
			next := 0
			var lastID string
			err := oracle.ReadStream(context.Background(), rdb, key, func(id string, fields map[string]any) error {
				if got := fields["seq"]; got != strconv.Itoa(next) {
					return fmt.Errorf("entry %d (%s): got seq %v, want %d", next, id, got, next)
				}
				if id == lastID {
					return fmt.Errorf("entry %d: got ID %s twice", next, id)
				}
				lastID = id
				next++
				return nil
			})
			if err != nil {
				t.Fatalf("ReadStream: got error %v, want nil", err)
			}
			if next != tt.n {
				t.Errorf("ReadStream: got %d entries, want %d", next, tt.n)
			}
		})
	}
}

func TestReadStreamErrors(t *testing.T) {
	m, rdb := newRedis(t)
	for i := range 15000 {
		if _, err := m.XAdd("s", "*", []string{"seq", strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Set("str", "not a stream"); err != nil {
		t.Fatal(err)
	}
	stop := errors.New("stop")

	t.Run("callback error stops the read", func(t *testing.T) {
		calls := 0
		err := oracle.ReadStream(context.Background(), rdb, "s", func(string, map[string]any) error {
			calls++
			if calls == 12000 { // on the second page
				return stop
			}
			return nil
		})
		if !errors.Is(err, stop) {
			t.Errorf("ReadStream: got error %v, want %v", err, stop)
		}
		if calls != 12000 {
			t.Errorf("got %d calls, want 12000", calls)
		}
	})
	t.Run("not a stream", func(t *testing.T) {
		err := oracle.ReadStream(context.Background(), rdb, "str", func(string, map[string]any) error {
			t.Error("got a callback, want none")
			return nil
		})
		if err == nil || !strings.HasPrefix(err.Error(), "oracle: xrange str") || !strings.Contains(err.Error(), "WRONGTYPE") {
			t.Errorf("ReadStream: got error %v, want an oracle: xrange str: WRONGTYPE error", err)
		}
	})
	t.Run("canceled context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err := oracle.ReadStream(ctx, rdb, "s", func(string, map[string]any) error { return nil })
		if !errors.Is(err, context.Canceled) {
			t.Errorf("ReadStream: got error %v, want context.Canceled", err)
		}
	})
}

// ReadStreamRange reads between its bounds and stops without error when
// the callback says ErrStop; other callback errors come back.
func TestReadStreamRange(t *testing.T) {
	m, rdb := newRedis(t)
	for i := range 6 {
		if _, err := m.XAdd("r", fmt.Sprintf("%d-0", i+1), []string{"seq", strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	err := oracle.ReadStreamRange(context.Background(), rdb, "r", "2-0", "5-0", func(id string, _ map[string]any) error {
		if len(got) == 2 {
			return oracle.ErrStop
		}
		got = append(got, id)
		return nil
	})
	if err != nil || strings.Join(got, ",") != "2-0,3-0" {
		t.Errorf("got %v, %v; want [2-0 3-0], nil", got, err)
	}
	got = nil
	err = oracle.ReadStreamRange(context.Background(), rdb, "r", "(4-0", "+", func(id string, _ map[string]any) error {
		got = append(got, id)
		return nil
	})
	if err != nil || strings.Join(got, ",") != "5-0,6-0" {
		t.Errorf("exclusive start: got %v, %v; want [5-0 6-0], nil", got, err)
	}
	boom := errors.New("boom")
	if err := oracle.ReadStreamRange(context.Background(), rdb, "r", "-", "+", func(string, map[string]any) error { return boom }); !errors.Is(err, boom) {
		t.Errorf("callback error: got %v, want boom", err)
	}
}
