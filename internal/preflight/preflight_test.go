package preflight

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"syscall"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
	"github.com/kafka-redis-connector/kafka-redis-connector/connector"
	"github.com/kafka-redis-connector/kafka-redis-connector/internal/securetest"
	"github.com/kafka-redis-connector/kafka-redis-connector/sink"
)

func runPreflight(t *testing.T, cfg config.Config) error {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("test config invalid: %v", err)
	}
	rdb, err := sink.NewClient(cfg.Redis)
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	kopts, err := connector.SecurityOpts(cfg.Kafka)
	if err != nil {
		t.Fatal(err)
	}
	return Check(context.Background(), cfg, rdb, kopts, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

// TestPreflight runs the start-up check against an in-process Kafka and
// Redis. kfake answers a wrong SASL password by closing the connection
// rather than with SASL_AUTHENTICATION_FAILED as Apache Kafka does, so that
// case is covered by TestDescribeConnectError here and by the real-service
// suite (testcontainers/security_test.go).
func TestPreflight(t *testing.T) {
	sp := securetest.NewPair(t)
	closed := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		return addr
	}()
	tests := []struct {
		name   string
		mutate func(*config.Config)
		want   []string // substrings of the error; none: no error
	}{
		{"all good", func(*config.Config) {}, nil},
		{"kafka unknown CA", func(c *config.Config) { c.Kafka.TLS.CAFile = sp.Rogue.File },
			[]string{"kafka " + sp.Brokers[0], "unknown CA"}},
		{"kafka name mismatch", func(c *config.Config) { c.Kafka.TLS.ServerName = "kafka.example.com" },
			[]string{"kafka " + sp.Brokers[0], "name mismatch"}},
		{"kafka without client certificate", func(c *config.Config) { c.Kafka.TLS.CertFile, c.Kafka.TLS.KeyFile = "", "" },
			[]string{"kafka " + sp.Brokers[0], "TLS"}},
		{"kafka without TLS", func(c *config.Config) { c.Kafka.TLS = config.TLS{} },
			[]string{"kafka " + sp.Brokers[0]}},
		{"redis wrong password", func(c *config.Config) { c.Redis.Password = "wrong-redis-pass" },
			[]string{"redis " + sp.RedisAddr, "authentication failed", "(user krc)"}},
		{"redis without TLS", func(c *config.Config) { c.Redis.TLS = config.TLS{} },
			[]string{"redis " + sp.RedisAddr, "expects TLS (set redis.tls.enabled)"}},
		{"redis unknown CA", func(c *config.Config) { c.Redis.TLS.CAFile = sp.Rogue.File },
			[]string{"redis " + sp.RedisAddr, "unknown CA"}},
		{"redis name mismatch", func(c *config.Config) { c.Redis.TLS.ServerName = "redis.example.com" },
			[]string{"redis " + sp.RedisAddr, "name mismatch"}},
		{"both wrong", func(c *config.Config) {
			c.Kafka.TLS.CAFile = sp.Rogue.File
			c.Redis.Password = "wrong-redis-pass"
		},
			[]string{"kafka " + sp.Brokers[0], "redis " + sp.RedisAddr}},
		{"unreachable is not fatal", func(c *config.Config) {
			c.Redis.Addrs = []string{closed}
			c.Kafka.Brokers = []string{closed}
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := sp.Config()
			tt.mutate(&cfg)
			err := runPreflight(t, cfg)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("got %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("got nil, want an error naming %q", tt.want)
			}
			t.Logf("start-up check: %v", err)
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("got %q, want it to contain %q", err, w)
				}
			}
			for _, secret := range []string{securetest.KafkaPassword, securetest.RedisPassword, "wrong-kafka-pass", "wrong-redis-pass"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("got %q, which holds a password", err)
				}
			}
		})
	}
}

func TestDescribeConnectError(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		cause    string
		definite bool
	}{
		{"sasl", fmt.Errorf("wrapped: %w", kerr.SaslAuthenticationFailed), "authentication failed", true},
		{"sasl mechanism", kerr.UnsupportedSaslMechanism, "SASL mechanism not enabled", true},
		{"unknown CA", &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}, "unknown CA", true},
		{"name", fmt.Errorf("dial: %w", x509.HostnameError{Certificate: &x509.Certificate{}, Host: "x"}), "name mismatch", true},
		{"expired", x509.CertificateInvalidError{Reason: x509.Expired}, "not valid", true},
		{"plaintext port", tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}, "does not speak TLS", true},
		{"alert", &net.OpError{Op: "remote error", Err: errors.New("tls: certificate required")}, "rejected the handshake (tls: certificate required", true},
		{"redis auth", redisError("WRONGPASS invalid username-password pair or user is disabled."), "authentication failed", true},
		{"redis noauth", redisError("NOAUTH Authentication required."), "authentication failed", true},
		{"redis acl", redisError("NOPERM User krc has no permissions to run the 'ping' command"), "ACL user lacks a permission", true},
		{"refused", &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, "connection refused", false},
		{"timeout", context.DeadlineExceeded, "no answer within", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cause, definite := describeConnectError(tt.err)
			if !strings.Contains(cause, tt.cause) || definite != tt.definite {
				t.Errorf("got %q, %v, want %q, %v", cause, definite, tt.cause, tt.definite)
			}
		})
	}
}

// redisError is a server reply as go-redis returns it.
type redisError string

func (e redisError) Error() string { return string(e) }
func (redisError) RedisError()     {}
