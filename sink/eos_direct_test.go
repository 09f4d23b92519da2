package sink

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
)

// Two streams, one EVALSHA each: the first is answered NOSCRIPT and goes
// again as EVAL; the connection then drops before the EVAL's reply, so its
// records are retryable while the other stream's are written.
func TestDirectScriptNoScriptThenDrop(t *testing.T) {
	f := newFakeRedis(t, func(n int) string {
		switch n {
		case 0: // EVALSHA for s-a
			return "-NOSCRIPT No matching script. Please use EVAL.\r\n"
		case 1: // EVALSHA for s-b
			return "*2\r\n:1\r\n:0\r\n"
		}
		return "" // the EVAL for s-a: no reply, the connection closes
	})
	w := directWriter(t, redisOptions(f), func(s *config.Stream) { s.Key = "s-{key}" })
	w.exactlyOnce = true
	recs := []*kgo.Record{{Topic: "t", Key: []byte("a"), Value: []byte("0")}, {Topic: "t", Offset: 1, Key: []byte("b"), Value: []byte("1")}}
	res, err := w.Write(context.Background(), recs)
	if err == nil || !Retryable(err) {
		t.Fatalf("Write: got %v, want a retryable error", err)
	}
	if !Retryable(res.Errs[0]) {
		t.Errorf("record of s-a: got %v, want retryable (its EVAL's reply was lost)", res.Errs[0])
	}
	if res.Errs[1] != nil {
		t.Errorf("record of s-b: got %v, want written", res.Errs[1])
	}
}

func TestReadValue(t *testing.T) {
	f := newFakeRedis(t, func(int) string {
		return "*4\r\n:2\r\n:0\r\n:3\r\n$5\r\nERR x\r\n"
	})
	w := directWriter(t, redisOptions(f), nil)
	w.exactlyOnce = true
	replies := w.runScriptDirect(context.Background(), []*eosCall{{stream: "s", companion: "krc-offsets:{s}",
		parts: []*eosPartition{{field: "t:0", args: []any{"0", "1", "*"}, index: []int{0}}}}})
	got := replies[0]
	if got.err != nil || len(got.values) != 4 || got.values[0] != int64(2) || got.values[3] != "ERR x" {
		t.Errorf("got %#v, want [2 0 3 \"ERR x\"]", got)
	}
}

func redisOptions(f *fakeRedis) redis.Options {
	return redis.Options{Addr: f.ln.Addr().String(), DialerRetries: 1, DialTimeout: time.Second, ReadTimeout: 5 * time.Second}
}
