package connector_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafka-redis-connector/kafka-redis-connector/connector"
	"github.com/kafka-redis-connector/kafka-redis-connector/sink"
)

// gatedWriter holds its first Write until release is closed (or its
// context ends), then writes through w.
type gatedWriter struct {
	w       connector.Writer
	entered chan struct{} // closed when the first Write began
	release chan struct{}
	once    sync.Once
}

func newGatedWriter(w connector.Writer) *gatedWriter {
	return &gatedWriter{w: w, entered: make(chan struct{}), release: make(chan struct{})}
}

func (g *gatedWriter) Write(ctx context.Context, recs []*kgo.Record) (sink.Result, error) {
	first := false
	g.once.Do(func() { first = true; close(g.entered) })
	if first {
		select {
		case <-g.release:
		case <-ctx.Done():
			return sink.Result{Errs: errsOf(len(recs), ctx.Err()), Streams: make([]string, len(recs))}, ctx.Err()
		}
	}
	return g.w.Write(ctx, recs)
}

// stuckWriter is a Redis that never replies: every Write waits until its
// context ends. It notes when each Write began.
type stuckWriter struct {
	mu     sync.Mutex
	starts []time.Time
}

func (s *stuckWriter) Write(ctx context.Context, recs []*kgo.Record) (sink.Result, error) {
	s.mu.Lock()
	s.starts = append(s.starts, time.Now())
	s.mu.Unlock()
	<-ctx.Done()
	return sink.Result{Errs: errsOf(len(recs), ctx.Err()), Streams: make([]string, len(recs))}, ctx.Err()
}

func (s *stuckWriter) lastStart() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.starts) == 0 {
		return time.Time{}
	}
	return s.starts[len(s.starts)-1]
}

func errsOf(n int, err error) []error {
	errs := make([]error, n)
	for i := range errs {
		errs[i] = err
	}
	return errs
}

func (r *running) wait(t *testing.T, timeout time.Duration) error {
	t.Helper()
	select {
	case <-r.done:
		return r.err
	case <-time.After(timeout):
		t.Fatalf("connector did not stop within %s", timeout)
		return nil
	}
}

// produceTenant sends n records to partition 0; poison ones lack the tenant
// header that stream.key {header:tenant} needs.
func (e *env) produceTenant(n int, poison bool) {
	e.t.Helper()
	for i := 0; i < n; i++ {
		rec := &kgo.Record{Partition: 0, Value: []byte(fmt.Sprint(i)),
			Headers: []kgo.RecordHeader{{Key: "tenant", Value: []byte(testTopic)}}}
		if poison {
			rec.Headers = nil
		}
		if err := e.prod.ProduceSync(context.Background(), rec).FirstErr(); err != nil {
			e.t.Fatalf("produce: %v", err)
		}
		e.mu.Lock()
		e.sent[0] = append(e.sent[0], int64(len(e.sent[0])))
		e.mu.Unlock()
	}
}

// errors.policy fail exits non-zero naming the record also when the poison
// record is met by the shutdown flush, and reports exactly what was left
// uncommitted: the poison record and the 15 written after it.
func TestShutdownFlushMeetsPoisonRecord(t *testing.T) {
	e := newEnv(t, 1)
	e.cfg.Stream.Key = "{header:tenant}"
	e.cfg.Errors.Policy = "fail"
	e.produceTenant(10, false)
	w := newGatedWriter(e.sinkWriter())
	r := e.startWith(w)
	<-w.entered // the first batch (offsets 0-9) is in flight
	e.produceTenant(1, true)
	e.produceTenant(15, false)
	waitFor(t, "all 26 records polled", 10*time.Second, func() bool { return r.c.Snapshot().Consumed == 26 })
	r.stop()
	close(w.release)
	err := r.wait(t, 20*time.Second)
	if !errors.Is(err, connector.ErrPermanentRecord) || !errors.Is(err, sink.ErrUnresolvableKey) {
		t.Fatalf("got error %v, want ErrPermanentRecord wrapping ErrUnresolvableKey", err)
	}
	for _, want := range []string{"events/0@10", "events/0 from offset 10 (16 records)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q: want it to name %q", err, want)
		}
	}
	if got := e.committed()[0]; got != 10 {
		t.Errorf("committed offset: got %d, want 10", got)
	}
}

// SIGTERM while Redis rejects writes: shutdown keeps flushing with the retry
// policy until shutdown_timeout, and logs nothing that did not happen.
func TestShutdownWhileRedisFails(t *testing.T) {
	for _, tc := range []struct {
		name    string
		recover bool // Redis answers again during the shutdown
	}{
		{name: "redis recovers within shutdown_timeout", recover: true},
		{name: "redis stays down"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, 2)
			e.cfg.ShutdownTimeout = 3 * time.Second
			e.produce(100, 2)
			r := e.start()
			e.waitEntries(100, 20*time.Second)
			e.redis.Down("LOADING Redis is loading the dataset in memory")
			e.produce(50, 2)
			waitFor(t, "the breaker to open", 10*time.Second, func() bool {
				s := r.c.Snapshot()
				return s.FetchPaused && s.BreakerState == connector.BreakerOpen
			})
			stopped := time.Now()
			r.stop()
			if tc.recover {
				waitFor(t, "a shutdown flush attempt to fail", 10*time.Second, func() bool {
					return r.logs.contains("shutdown flush failed")
				})
				e.redis.Up()
			}
			err := r.wait(t, 20*time.Second)
			if tc.recover {
				if err != nil {
					t.Fatalf("got error %v, want nil", err)
				}
				e.verify()
				for p, end := range e.endOffsets() {
					if got := e.committed()[p]; got != end {
						t.Errorf("partition %d: committed %d, want %d", p, got, end)
					}
				}
				return
			}
			if !errors.Is(err, connector.ErrShutdownIncomplete) {
				t.Fatalf("got error %v, want ErrShutdownIncomplete", err)
			}
			for _, want := range []string{"events/0 from offset 50 (25 records)", "events/1 from offset 50 (25 records)"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q: want it to name %q", err, want)
				}
			}
			if took := time.Since(stopped); took < e.cfg.ShutdownTimeout/2 {
				t.Errorf("shutdown took %s, want it to keep trying for about shutdown_timeout %s", took, e.cfg.ShutdownTimeout)
			}
			if r.logs.contains("redis writes succeed again") {
				t.Errorf("log says redis writes succeed again; they never did")
			}
		})
	}
}

// shutdown_timeout bounds the shutdown against a Redis that never replies,
// no write attempt starts past it, and a forced stop (the second signal)
// ends the shutdown at once.
func TestShutdownBoundedAgainstStuckRedis(t *testing.T) {
	for _, tc := range []struct {
		name  string
		force bool
	}{
		{name: "shutdown_timeout"},
		{name: "second signal", force: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, 1)
			e.cfg.FlushTimeout = 30 * time.Second // only the shutdown bounds the attempt
			e.cfg.ShutdownTimeout = 2 * time.Second
			if tc.force {
				e.cfg.ShutdownTimeout = time.Minute
			}
			e.produce(20, 1)
			w := &stuckWriter{}
			force := make(chan struct{})
			r := e.startWith(w, connector.WithForceStop(force))
			waitFor(t, "a write to start", 10*time.Second, func() bool { return !w.lastStart().IsZero() })
			waitFor(t, "all 20 records polled", 10*time.Second, func() bool { return r.c.Snapshot().Consumed == 20 })
			stopped := time.Now()
			r.stop()
			limit := e.cfg.ShutdownTimeout
			if tc.force {
				close(force)
				limit = 0
			}
			err := r.wait(t, limit+5*time.Second)
			took := time.Since(stopped)
			if !errors.Is(err, connector.ErrShutdownIncomplete) || !strings.Contains(err.Error(), "events/0 from offset 0 (20 records)") {
				t.Fatalf("got error %v, want ErrShutdownIncomplete naming events/0 from offset 0 (20 records)", err)
			}
			if took > limit+2*time.Second {
				t.Errorf("shutdown took %s, want at most %s", took, limit+2*time.Second)
			}
			if last := w.lastStart(); last.After(stopped.Add(limit)) {
				t.Errorf("a write started %s after the shutdown began, past its %s bound", last.Sub(stopped), limit)
			}
		})
	}
}

// deadlineWriter notes the deadline each Write's context carries.
type deadlineWriter struct {
	mu        sync.Mutex
	deadlines []time.Duration // time left at the call; -1 for none
}

func (d *deadlineWriter) Write(ctx context.Context, recs []*kgo.Record) (sink.Result, error) {
	left := time.Duration(-1)
	if dl, ok := ctx.Deadline(); ok {
		left = time.Until(dl)
	}
	d.mu.Lock()
	d.deadlines = append(d.deadlines, left)
	d.mu.Unlock()
	return sink.Result{Errs: make([]error, len(recs)), Streams: make([]string, len(recs))}, nil
}

// TestWriteAttemptCarriesFlushTimeoutDeadline: failsafe-go's timeout policy
// cancels an attempt's context without giving it a deadline, and go-redis
// sets its socket deadlines only from a context deadline, so a Redis that
// stops answering held an attempt for redis.read_timeout, not flush_timeout.
// Every attempt's context must carry a deadline of at most flush_timeout.
func TestWriteAttemptCarriesFlushTimeoutDeadline(t *testing.T) {
	e := newEnv(t, 1)
	e.cfg.FlushTimeout = 700 * time.Millisecond
	e.produce(10, 1)
	w := &deadlineWriter{}
	r := e.startWith(w)
	waitFor(t, "a write", 10*time.Second, func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		return len(w.deadlines) > 0
	})
	r.stop()
	_ = r.wait(t, 10*time.Second)
	w.mu.Lock()
	defer w.mu.Unlock()
	for i, left := range w.deadlines {
		if left < 0 || left > e.cfg.FlushTimeout {
			t.Errorf("write %d: got time left %v, want a deadline within flush_timeout %v", i, left, e.cfg.FlushTimeout)
		}
	}
}
