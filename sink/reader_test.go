package sink_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/kafka-redis-connector/kafka-redis-connector/sink"
)

// newStreamRedis starts a miniredis and a client for the reader tests.
func newStreamRedis(t *testing.T) (*miniredis.Miniredis, *redis.Client) {
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
	m, rdb := newStreamRedis(t)
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
			err := sink.ReadStream(context.Background(), rdb, key, func(id string, fields map[string]any) error {
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
	m, rdb := newStreamRedis(t)
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
		err := sink.ReadStream(context.Background(), rdb, "s", func(string, map[string]any) error {
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
		err := sink.ReadStream(context.Background(), rdb, "str", func(string, map[string]any) error {
			t.Error("got a callback, want none")
			return nil
		})
		if err == nil || !strings.HasPrefix(err.Error(), "sink: xrange str") || !strings.Contains(err.Error(), "WRONGTYPE") {
			t.Errorf("ReadStream: got error %v, want a sink: xrange str: WRONGTYPE error", err)
		}
	})
	t.Run("canceled context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err := sink.ReadStream(ctx, rdb, "s", func(string, map[string]any) error { return nil })
		if !errors.Is(err, context.Canceled) {
			t.Errorf("ReadStream: got error %v, want context.Canceled", err)
		}
	})
}

// ReadStreamRange reads between its bounds and stops without error when
// the callback says ErrStopReading; other callback errors come back.
func TestReadStreamRange(t *testing.T) {
	m, rdb := newStreamRedis(t)
	for i := range 6 {
		if _, err := m.XAdd("r", fmt.Sprintf("%d-0", i+1), []string{"seq", strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	err := sink.ReadStreamRange(context.Background(), rdb, "r", "2-0", "5-0", func(id string, _ map[string]any) error {
		if len(got) == 2 {
			return sink.ErrStopReading
		}
		got = append(got, id)
		return nil
	})
	if err != nil || strings.Join(got, ",") != "2-0,3-0" {
		t.Errorf("got %v, %v; want [2-0 3-0], nil", got, err)
	}
	got = nil
	err = sink.ReadStreamRange(context.Background(), rdb, "r", "(4-0", "+", func(id string, _ map[string]any) error {
		got = append(got, id)
		return nil
	})
	if err != nil || strings.Join(got, ",") != "5-0,6-0" {
		t.Errorf("exclusive start: got %v, %v; want [5-0 6-0], nil", got, err)
	}
	boom := errors.New("boom")
	if err := sink.ReadStreamRange(context.Background(), rdb, "r", "-", "+", func(string, map[string]any) error { return boom }); !errors.Is(err, boom) {
		t.Errorf("callback error: got %v, want boom", err)
	}
}
