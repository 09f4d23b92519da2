package sink

import (
	"bufio"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
)

func TestReplicaAcksReadVerdict(t *testing.T) {
	acks := replicaAcks{n: 2, timeout: 100 * time.Millisecond, timeoutMS: "100"}
	tests := []struct {
		name              string
		reply             string
		shortfall, broken bool
	}{
		{"enough", ":2\r\n", false, false},
		{"more than enough", ":3\r\n", false, false},
		{"short", ":1\r\n", true, false},
		{"none", ":0\r\n", true, false},
		{"refused", "-ERR WAIT cannot be used with replica instances\r\n", true, false},
		{"still in multi", "+QUEUED\r\n", true, true},
		{"bad count", ":x\r\n", true, true},
		{"cut", ":2", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			verdict, io := acks.readVerdict(bufio.NewReader(strings.NewReader(tt.reply)))
			if got := errors.Is(verdict, ErrReplicaShortfall); got != tt.shortfall {
				t.Errorf("verdict %v: got shortfall %v, want %v", verdict, got, tt.shortfall)
			}
			if verdict != nil && !Retryable(verdict) {
				t.Errorf("got Retryable(%v) false, want true", verdict)
			}
			if got := io != nil; got != tt.broken {
				t.Errorf("connection error %v: got %v, want %v", io, got, tt.broken)
			}
		})
	}
}

// The direct transport sends WAIT right after EXEC, in the same round trip,
// and reads its count: enough replicas acknowledge the write.
func TestDirectWaitAfterExec(t *testing.T) {
	replies := []string{"+OK\r\n", "+QUEUED\r\n", "+QUEUED\r\n", "*2\r\n$3\r\n1-0\r\n$3\r\n2-0\r\n", ":1\r\n"}
	f := newFakeRedis(t, func(n int) string {
		if n < len(replies) {
			return replies[n]
		}
		return ""
	})
	rdb := redis.NewClient(&redis.Options{Addr: f.ln.Addr().String(), MaxRetries: -1, DialerRetries: 1,
		DialTimeout: time.Second, ReadTimeout: 5 * time.Second})
	t.Cleanup(func() { _ = rdb.Close() })
	cfg := config.Default().Stream
	cfg.Key, cfg.KeyField, cfg.Metadata = "s", "", nil
	w, err := NewWriter(rdb, cfg, WithReplicaAcks(1, 50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	if w.direct == nil {
		t.Fatal("a standalone client: want the direct transport")
	}
	res, err := w.Write(context.Background(), records(2))
	if err != nil || res.Written() != 2 {
		t.Fatalf("Write: got %d written, error %v, want 2, nil", res.Written(), err)
	}
}
