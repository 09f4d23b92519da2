package sink_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
	"github.com/kafka-redis-connector/kafka-redis-connector/sink"
)

func TestRetryable(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("sink: xadd s: %w", err) }
	opErr := &net.OpError{Op: "dial", Net: "tcp", Err: &os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED}}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"context canceled", context.Canceled, false},
		{"wrapped context canceled", wrap(context.Canceled), false},
		{"canceled wins over a network error", errors.Join(context.Canceled, io.EOF), false},
		{"deadline exceeded", context.DeadlineExceeded, true},
		{"wrapped deadline exceeded", wrap(context.DeadlineExceeded), true},
		{"EOF", io.EOF, true},
		{"wrapped EOF", wrap(io.EOF), true},
		{"unexpected EOF", io.ErrUnexpectedEOF, true},
		{"wrapped connection refused", wrap(syscall.ECONNREFUSED), true},
		{"wrapped connection reset", wrap(syscall.ECONNRESET), true},
		{"wrapped broken pipe", wrap(syscall.EPIPE), true},
		{"net.OpError", opErr, true},
		{"wrapped net.OpError", wrap(opErr), true},
		{"net.OpError without errno", &net.OpError{Op: "read", Net: "tcp", Err: errors.New("boom")}, true},
		{"use of closed network connection", net.ErrClosed, true},
		{"go-redis client closed", redis.ErrClosed, true},
		{"go-redis pool timeout", redis.ErrPoolTimeout, true},
		{"wrapped go-redis client closed", wrap(redis.ErrClosed), true},
		{"wrapped go-redis pool timeout", wrap(redis.ErrPoolTimeout), true},
		{"TLS verification failure", wrap(&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}), true},
		{"TLS alert from the server", wrap(tls.AlertError(42)), true},
		{"x509 name mismatch", x509.HostnameError{Host: "redis.invalid"}, true},
		{"arbitrary error", errors.New("something else"), true},
		{"invalid ID", fmt.Errorf("%w (%w): xadd s: ERR x", sink.ErrRejected, sink.ErrInvalidID), false},
		{"rejected", sink.ErrRejected, false},
		{"rejected wrapping a LOADING text", fmt.Errorf("%w: xadd s: %v", sink.ErrRejected, errors.New("LOADING x")), false},
		{"rejected wrapping EOF", fmt.Errorf("%w: %w", sink.ErrRejected, io.EOF), false},
		{"entry too large", fmt.Errorf("%w: 11 bytes > 10", sink.ErrEntryTooLarge), false},
		{"invalid JSON", fmt.Errorf("%w: top level is not an object", sink.ErrInvalidJSON), false},
		{"unresolvable key", fmt.Errorf("%w: template %q", sink.ErrUnresolvableKey, "{key}"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sink.Retryable(tt.err); got != tt.want {
				t.Errorf("Retryable(%v): got %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

// replyClasses lists every kind of Redis error reply the writer can meet,
// with what it must become: only a reply the record itself causes
// (WRONGTYPE on its target key, an explicit ID Redis refuses) is the
// record's (kind: the sentinel it wraps); every other reply, known or not,
// would hit any record alike and is retried (kind nil).
var replyClasses = []struct {
	reply string
	kind  error // nil: retryable
}{
	{"MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option).", nil},
	{"BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.", nil},
	{"NOREPLICAS Not enough good replicas to write.", nil},
	{"NOSCRIPT No matching script. Please use EVAL.", nil},
	{"LOADING Redis is loading the dataset in memory", nil},
	{"READONLY You can't write against a read only replica.", nil},
	{"MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.", nil},
	{"TRYAGAIN Multiple keys request during rehashing of slot", nil},
	{"CLUSTERDOWN The cluster is down", nil},
	{"CLUSTERDOWN Hash slot not served", nil},
	{"OOM command not allowed when used memory > 'maxmemory'.", nil},
	{"MOVED 3999 127.0.0.1:6381", nil},
	{"ASK 3999 127.0.0.1:6381", nil},
	{"NOAUTH Authentication required.", nil},
	{"WRONGPASS invalid username-password pair or user is disabled.", nil},
	{"NOPERM this user has no permissions to run the 'xadd' command", nil},
	{"NOPERM this user has no permissions to access one of the keys used as arguments", nil},
	{"NOPERM User connector has no permissions to run the 'xadd' command", nil},
	{"NOPERM No permissions to access a key", nil},
	{"NOPERM ACLs rules changed between the moment the transaction was accumulated and its execution", nil},
	{"ERR max number of clients reached", nil},
	{"EXECABORT Transaction discarded because of previous errors.", nil},
	{"EXECABORT Transaction discarded because of: OOM command not allowed when used memory > 'maxmemory'.", nil},
	{"ERR EXEC without MULTI", nil},
	{"ERR unknown command 'xadd', with args beginning with: ", nil},
	{"ERR syntax error", nil},
	{"ERR Transaction contains write commands but instance is now a read-only replica. EXEC aborted.", nil},
	{"SOMETHINGNEW a reply no version of Redis gave yet", nil},
	{"WRONGTYPE Operation against a key holding the wrong kind of value", sink.ErrRejected},
	{"ERR The ID specified in XADD is equal or smaller than the target stream top item", sink.ErrIDNotIncreasing},
	{"ERR The ID specified in XADD must be greater than 0-0", sink.ErrInvalidID},
	{"ERR Invalid stream ID specified as stream command argument", sink.ErrInvalidID},
}

// Replies as go-redis returns them, bare and wrapped the way Writer.Write
// wraps them, since the connector classifies Write's errors, not the raw ones.
func TestRetryableRedisReplies(t *testing.T) {
	m := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr(), MaxRetries: -1, Protocol: 2})
	t.Cleanup(func() { _ = rdb.Close() })
	ctx := context.Background()
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	for _, tt := range replyClasses {
		t.Run(tt.reply, func(t *testing.T) {
			m.SetError(tt.reply)
			defer m.SetError("")
			err := rdb.Do(ctx, "xadd", "s", "*", "f", "v").Err()
			var re redis.Error
			if !errors.As(err, &re) || err.Error() != tt.reply {
				t.Fatalf("got reply %v, want the redis.Error %q", err, tt.reply)
			}
			want := tt.kind == nil
			if got := sink.Retryable(err); got != want {
				t.Errorf("Retryable(%v): got %v, want %v", err, got, want)
			}
			wrapped := fmt.Errorf("sink: xadd s: %w", err)
			if got := sink.Retryable(wrapped); got != want {
				t.Errorf("Retryable(%v): got %v, want %v", wrapped, got, want)
			}
		})
	}
}

// Write turns each reply into what the connector acts on: a record-caused
// reply fails that record alone (errors.policy), wrapping ErrRejected and
// its kind, and Write's error stays nil; any other reply fails the write
// retryably (the breaker counts it) and no record is reported rejected.
func TestWriterClassifiesReplies(t *testing.T) {
	for _, tt := range replyClasses {
		forTransports(t, tt.reply, func(t *testing.T, opts ...sink.WriterOption) {
			m, rdb := newRedis(t)
			w := newWriter(t, rdb, func(c *config.Stream) { c.Key = "s" }, opts...)
			m.SetError(tt.reply)
			res, err := w.Write(context.Background(), []*kgo.Record{rec("t", 0, 0, "", "1")})
			m.SetError("")
			got := res.Errs[0]
			if tt.kind == nil {
				if !sink.Retryable(got) || errors.Is(got, sink.ErrRejected) {
					t.Errorf("record 0: got %v (retryable %v), want a retryable error", got, sink.Retryable(got))
				}
				if !sink.Retryable(err) {
					t.Errorf("Write: got error %v, want a retryable one", err)
				}
				return
			}
			if !errors.Is(got, sink.ErrRejected) || !errors.Is(got, tt.kind) || sink.Retryable(got) {
				t.Errorf("record 0: got %v, want a permanent error wrapping %v and %v", got, sink.ErrRejected, tt.kind)
			}
			if err != nil {
				t.Errorf("Write: got error %v, want nil", err)
			}
		})
	}
}
