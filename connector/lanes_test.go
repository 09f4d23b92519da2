package connector_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafka-redis-connector/kafka-redis-connector/connector"
	"github.com/kafka-redis-connector/kafka-redis-connector/sink"
)

// orderWriter is a slow Writer that checks what the lanes promise: at most
// max_in_flight writes at once, never two writes of one partition at once,
// and each partition's offsets arriving in order without gaps.
type orderWriter struct {
	delay time.Duration

	mu          sync.Mutex
	inFlight    int
	maxInFlight int
	busy        map[int32]bool
	next        map[int32]int64
	written     int
	violations  []string
}

func (w *orderWriter) Write(_ context.Context, recs []*kgo.Record) (sink.Result, error) {
	parts := map[int32]bool{}
	w.mu.Lock()
	w.inFlight++
	w.maxInFlight = max(w.maxInFlight, w.inFlight)
	for _, r := range recs {
		if !parts[r.Partition] && w.busy[r.Partition] {
			w.violations = append(w.violations, "two writes of one partition in flight")
		}
		parts[r.Partition] = true
	}
	for p := range parts {
		w.busy[p] = true
	}
	w.mu.Unlock()

	time.Sleep(w.delay)

	w.mu.Lock()
	defer w.mu.Unlock()
	for _, r := range recs {
		if r.Offset != w.next[r.Partition] {
			w.violations = append(w.violations, "partition out of order or with a gap")
		}
		w.next[r.Partition] = r.Offset + 1
	}
	for p := range parts {
		w.busy[p] = false
	}
	w.inFlight--
	w.written += len(recs)
	return sink.Result{Errs: make([]error, len(recs)), Streams: make([]string, len(recs))}, nil
}

func TestLanesKeepPartitionOrderWithConcurrentFlushes(t *testing.T) {
	for _, tc := range []struct {
		inFlight     int
		wantMaxAbove int // the test fails unless flushes really overlapped this much
	}{
		{inFlight: 1, wantMaxAbove: 0},
		{inFlight: 4, wantMaxAbove: 1},
	} {
		t.Run(fmt.Sprintf("max_in_flight=%d", tc.inFlight), func(t *testing.T) {
			e := newEnv(t, 8)
			e.cfg.Batch.MaxInFlight = tc.inFlight
			e.produce(8000, 8)
			w := &orderWriter{delay: 5 * time.Millisecond, busy: map[int32]bool{}, next: map[int32]int64{}}
			c := connector.New(e.cfg, w)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- c.Run(ctx) }()
			deadline := time.Now().Add(30 * time.Second)
			for {
				w.mu.Lock()
				n := w.written
				w.mu.Unlock()
				if n >= 8000 || time.Now().After(deadline) {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatalf("run: %v", err)
			}
			w.mu.Lock()
			defer w.mu.Unlock()
			if w.written != 8000 {
				t.Errorf("written: got %d, want 8000", w.written)
			}
			if len(w.violations) > 0 {
				t.Errorf("got %d violations, first: %s", len(w.violations), w.violations[0])
			}
			if w.maxInFlight > tc.inFlight || w.maxInFlight <= tc.wantMaxAbove {
				t.Errorf("writes in flight at once: got %d, want in (%d, %d]", w.maxInFlight, tc.wantMaxAbove, tc.inFlight)
			}
		})
	}
}
