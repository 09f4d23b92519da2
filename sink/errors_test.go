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
		{"LOADING reply", errors.New("LOADING Redis is loading the dataset in memory"), true},
		{"READONLY reply", errors.New("READONLY You can't write against a read only replica."), true},
		{"OOM reply", errors.New("OOM command not allowed when used memory > 'maxmemory'."), true},
		{"MASTERDOWN reply", errors.New("MASTERDOWN Link with MASTER is down"), true},
		{"TRYAGAIN reply", errors.New("TRYAGAIN Multiple keys request during rehashing of slot"), true},
		{"CLUSTERDOWN reply", errors.New("CLUSTERDOWN The cluster is down"), true},
		{"BUSY reply", errors.New("BUSY Redis is busy running a script."), true},
		{"max clients reply", errors.New("ERR max number of clients reached"), true},
		{"WRONGPASS reply (a password rotated after start-up)", errors.New("WRONGPASS invalid username-password pair or user is disabled."), true},
		{"NOAUTH reply", errors.New("NOAUTH Authentication required."), true},
		{"NOPERM reply (XADD not allowed at all)", errors.New("NOPERM this user has no permissions to run the 'xadd' command"), true},
		{"NOPERM reply (a key outside the ACL)", errors.New("NOPERM this user has no permissions to access one of the keys used as arguments"), false},
		{"TLS verification failure", wrap(&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}), true},
		{"TLS alert from the server", wrap(tls.AlertError(42)), true},
		{"x509 name mismatch", x509.HostnameError{Host: "redis.invalid"}, true},
		{"WRONGTYPE reply", errors.New("WRONGTYPE Operation against a key holding the wrong kind of value"), false},
		{"syntax error reply", errors.New("ERR syntax error"), false},
		{"arbitrary error", errors.New("something else"), false},
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

// Replies as go-redis returns them, bare and wrapped the way Writer.Write
// wraps them, since the connector classifies Write's errors, not the raw ones.
func TestRetryableRedisReplies(t *testing.T) {
	tests := []struct {
		reply string
		want  bool
	}{
		{"LOADING Redis is loading the dataset in memory", true},
		{"READONLY You can't write against a read only replica.", true},
		{"OOM command not allowed when used memory > 'maxmemory'.", true},
		{"MASTERDOWN Link with MASTER is down", true},
		{"WRONGTYPE Operation against a key holding the wrong kind of value", false},
		{"ERR unknown command", false},
	}
	m := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr(), MaxRetries: -1, Protocol: 2})
	t.Cleanup(func() { _ = rdb.Close() })
	ctx := context.Background()
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.reply, func(t *testing.T) {
			m.SetError(tt.reply)
			defer m.SetError("")
			err := rdb.Do(ctx, "xadd", "s", "*", "f", "v").Err()
			var re redis.Error
			if !errors.As(err, &re) || err.Error() != tt.reply {
				t.Fatalf("got reply %v, want the redis.Error %q", err, tt.reply)
			}
			if got := sink.Retryable(err); got != tt.want {
				t.Errorf("Retryable(%v): got %v, want %v", err, got, tt.want)
			}
			wrapped := fmt.Errorf("sink: xadd s: %w", err)
			if got := sink.Retryable(wrapped); got != tt.want {
				t.Errorf("Retryable(%v): got %v, want %v", wrapped, got, tt.want)
			}
		})
	}
}
