package sink_test

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
	"github.com/kafka-redis-connector/kafka-redis-connector/sink"
)

// silentRedis accepts connections and reads whatever they send without
// ever answering (a Redis stuck in a long command, a half-dead proxy).
// received is signalled once the first bytes arrived.
func silentRedis(t *testing.T) (addr string, received <-chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	t.Cleanup(func() { _ = ln.Close(); wg.Wait() })
	wg.Go(func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				_ = c.Close()
			}
		}()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, conn)
			wg.Go(func() {
				buf := make([]byte, 4096)
				for {
					if _, err := conn.Read(buf); err != nil {
						return
					}
					once.Do(func() { close(got) })
				}
			})
		}
	})
	return ln.Addr().String(), got
}

// One Write attempt against a Redis that never replies returns within
// about the flush timeout, not redis.read_timeout, whichever of the two
// bounds is the sooner, with every record left to retry: the flush timeout
// reaches the attempt as a ctx deadline or (failsafe-go's timeout policy)
// as a cancellation of a ctx without one.
func TestWriteAttemptBoundedAgainstSilentRedis(t *testing.T) {
	tests := []struct {
		name        string
		readTimeout time.Duration
		ctx         func(received <-chan struct{}) (context.Context, context.CancelFunc)
		goRedis     bool  // the go-redis path too: it honours deadlines, not cancellation
		wantErr     error // errors.Is target; nil: any retryable error
	}{
		{
			name: "ctx deadline sooner than read_timeout", readTimeout: 3 * time.Second, goRedis: true,
			ctx: func(<-chan struct{}) (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.Background(), 200*time.Millisecond)
			},
		},
		{
			name: "read_timeout sooner than the ctx deadline", readTimeout: 200 * time.Millisecond, goRedis: true,
			ctx: func(<-chan struct{}) (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.Background(), 10*time.Second)
			},
		},
		{
			name: "ctx cancelled while replies are awaited", readTimeout: 3 * time.Second,
			ctx: func(received <-chan struct{}) (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(context.Background())
				go func() {
					select {
					case <-received:
						cancel()
					case <-ctx.Done():
					}
				}()
				return ctx, cancel
			},
			wantErr: context.Canceled,
		},
	}
	for _, tt := range tests {
		for _, tr := range []struct {
			name string
			opts []sink.WriterOption
		}{{"direct", nil}, {"go-redis", []sink.WriterOption{sink.WithGoRedisPipeline()}}} {
			if tr.opts != nil && !tt.goRedis {
				continue
			}
			t.Run(tt.name+"/"+tr.name, func(t *testing.T) {
				addr, received := silentRedis(t)
				cfg := config.Default().Redis
				cfg.Addrs, cfg.ReadTimeout, cfg.DialTimeout = []string{addr}, tt.readTimeout, time.Second
				rdb, err := sink.NewClient(cfg)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = rdb.Close() })
				w := newWriter(t, rdb, func(c *config.Stream) { c.Key = "s" }, tr.opts...)
				ctx, cancel := tt.ctx(received)
				defer cancel()
				start := time.Now()
				res, err := w.Write(ctx, []*kgo.Record{rec("t", 0, 0, "", "1"), rec("t", 0, 1, "", "2")})
				if elapsed := time.Since(start); elapsed > time.Second {
					t.Errorf("Write returned after %v, want within about 200ms (read_timeout %v)", elapsed, tt.readTimeout)
				}
				switch {
				case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
					t.Errorf("Write: got error %v, want %v", err, tt.wantErr)
				case tt.wantErr == nil && !sink.Retryable(err):
					t.Errorf("Write: got error %v, want a retryable one", err)
				}
				for i, e := range res.Errs {
					if e == nil || errors.Is(e, sink.ErrRejected) || !(sink.Retryable(e) || errors.Is(e, context.Canceled)) {
						t.Errorf("record %d: got %v, want it left to retry", i, e)
					}
				}
			})
		}
	}
}
