package connector_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
	"github.com/kafka-redis-connector/kafka-redis-connector/connector"
	"github.com/kafka-redis-connector/kafka-redis-connector/sink"
)

// startExactlyOnce is env.start with delivery.guarantee exactly_once.
func (e *env) startExactlyOnce() *running {
	e.t.Helper()
	e.cfg.Delivery.Guarantee = config.ExactlyOnce
	rdb := redis.NewClient(&redis.Options{Addr: e.mr.Addr(), MaxRetries: -1})
	e.t.Cleanup(func() { _ = rdb.Close() })
	w, err := sink.NewWriter(rdb, e.cfg.Stream, sink.WithExactlyOnce())
	if err != nil {
		e.t.Fatalf("writer: %v", err)
	}
	e.t.Cleanup(w.Close)
	c := connector.New(e.cfg, w, connector.WithLogger(slog.New(slog.NewTextHandler(newTestWriter(e.t), nil))))
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{c: c, stop: cancel, done: make(chan struct{})}
	go func() {
		r.err = c.Run(ctx)
		close(r.done)
	}()
	e.t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(20 * time.Second):
		}
	})
	return r
}

// A group whose commits are lost (here: a new group starting from the
// earliest offset) re-reads every record; exactly_once skips them all.
func TestComponentExactlyOnceRereadAddsNothing(t *testing.T) {
	e := newEnv(t, 4)
	e.produce(3000, 4)
	r := e.startExactlyOnce()
	e.waitEntries(3000, 30*time.Second)
	r.shutdown(t)

	e.cfg.Kafka.Group += "-again"
	e.produce(1000, 4)
	r = e.startExactlyOnce()
	deadline := time.Now().Add(30 * time.Second)
	for r.c.Snapshot().Written < 4000 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	r.shutdown(t)
	s := r.c.Snapshot()
	if s.Deduplicated != 3000 || s.Guarantee != config.ExactlyOnce {
		t.Errorf("got %d deduplicated under %q, want 3000 under exactly_once", s.Deduplicated, s.Guarantee)
	}
	if rep := e.verify(); rep.Duplicated != 0 || rep.Entries != 4000 {
		t.Errorf("oracle: got %s, want 4000 entries, duplicated=0", rep)
	}
}

func TestComponentExactlyOnceRedisFailureMidRun(t *testing.T) {
	e := newEnv(t, 4)
	e.produce(2000, 4)
	r := e.startExactlyOnce()
	e.waitEntries(500, 30*time.Second)
	e.redis.Down("LOADING Redis is loading the dataset in memory")
	go e.produce(2000, 4)
	time.Sleep(time.Second)
	e.redis.Up()
	e.waitEntries(4000, 30*time.Second)
	r.shutdown(t)
	if rep := e.verify(); rep.Duplicated != 0 {
		t.Errorf("oracle: got %s, want duplicated=0", rep)
	}
	e.checkCommitsCovered(e.committed())
}
