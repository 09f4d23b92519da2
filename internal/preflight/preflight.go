package preflight

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
)

// Timeout bounds the start-up check, so that bad credentials end the
// process well within 10 seconds.
const Timeout = 8 * time.Second

// Check checks once, before the connector starts, that Redis (PING)
// and Kafka (a metadata request) accept the configured certificates and
// credentials. A definite rejection (authentication failed, ACL denied,
// unknown CA, name mismatch, TLS refused) is returned, naming the endpoint
// and the cause, so the process exits at once instead of retrying in a
// loop. An endpoint that merely does not answer is logged and not an error:
// the connector rides out outages (its breaker, Kafka's retries).
func Check(ctx context.Context, cfg config.Config, rdb redis.UniversalClient, kopts []kgo.Opt, log *slog.Logger) error {
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	var wg sync.WaitGroup
	var redisErr, kafkaErr error
	wg.Go(func() { redisErr = rdb.Ping(ctx).Err() })
	wg.Go(func() { kafkaErr = pingKafka(ctx, cfg.Kafka, kopts) })
	wg.Wait()

	var failed []error
	check := func(err error, section string, addrs []string, tc config.TLS, who string) {
		if err == nil {
			return
		}
		endpoint := strings.Join(addrs, ",")
		cause, definite := describeConnectError(err)
		if !definite && !tc.Enabled && len(addrs) > 0 && speaksTLS(ctx, addrs[0]) {
			cause, definite = "the server expects TLS (set SECTION.tls.enabled)", true
		}
		if !definite && tc.Enabled && len(addrs) > 0 {
			// Under TLS 1.3 a server rejects a client certificate after
			// the handshake; the first write may see only a reset. Its
			// alert, read back on a quiet connection, names the cause.
			if alert := tlsAlert(ctx, addrs[0], tc); alert != nil {
				if c, ok := describeConnectError(alert); ok {
					cause, definite, err = c, true, alert
				}
			}
		}
		cause = strings.ReplaceAll(cause, "SECTION", section)
		if !definite {
			log.Warn("start-up check: endpoint not reachable yet; continuing", "endpoint", endpoint, "cause", cause)
			return
		}
		failed = append(failed, fmt.Errorf("%s %s%s: %s: %w", section, endpoint, who, cause, err))
	}
	check(redisErr, "redis", cfg.Redis.Addrs, cfg.Redis.TLS, redisUser(cfg.Redis))
	check(kafkaErr, "kafka", cfg.Kafka.Brokers, cfg.Kafka.TLS, kafkaUser(cfg.Kafka.SASL))
	if len(failed) > 0 {
		return fmt.Errorf("start-up check failed: %w", errors.Join(failed...))
	}
	return nil
}

func pingKafka(ctx context.Context, k config.Kafka, kopts []kgo.Opt) error {
	opts := append([]kgo.Opt{kgo.SeedBrokers(k.Brokers...), kgo.ClientID(k.ClientID)}, kopts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return err
	}
	defer cl.Close()
	return cl.Ping(ctx)
}

// speaksTLS reports whether addr answers a TLS handshake. It tells "TLS is
// off but the port expects it" apart from an outage, since a plaintext
// client to a TLS port sees only a closed connection or garbage. The probe
// sends no data and does not verify the certificate: only whether the
// server speaks TLS at all matters, and a handshake the server ends with an
// alert (it wants a client certificate) proves it does.
func speaksTLS(ctx context.Context, addr string) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	d := tls.Dialer{Config: &tls.Config{InsecureSkipVerify: true}} //nolint:gosec // a probe: nothing is sent
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err == nil {
		_ = conn.Close()
		return true
	}
	var opErr *net.OpError
	return errors.As(err, &opErr) && opErr.Op == "remote error"
}

// tlsAlert connects to addr with the configured TLS settings, sends
// nothing, and returns what the connection ends with within half a second:
// the server's alert when it rejects us after the handshake, a dial error,
// or nil when it just waits for a request (no verdict).
func tlsAlert(ctx context.Context, addr string, tc config.TLS) error {
	cfg, err := tc.ClientConfig()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	conn, err := (&tls.Dialer{Config: cfg}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	if _, err = conn.Read(make([]byte, 1)); err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil
		}
		return err
	}
	return nil
}

func redisUser(r config.Redis) string {
	if r.Username == "" {
		return ""
	}
	return " (user " + r.Username + ")"
}

func kafkaUser(s config.SASL) string {
	if s.Mechanism == "" {
		return ""
	}
	if s.Username == "" {
		return " (SASL " + s.Mechanism + ")"
	}
	return " (SASL " + s.Mechanism + ", user " + s.Username + ")"
}

// describeConnectError names why a connection attempt failed, and whether
// that is definite (retrying cannot help) rather than an outage. SECTION in
// the cause stands for the configuration section (kafka or redis).
func describeConnectError(err error) (cause string, definite bool) {
	var (
		unknownCA   x509.UnknownAuthorityError
		hostname    x509.HostnameError
		invalid     x509.CertificateInvalidError
		notTLS      tls.RecordHeaderError
		opErr       *net.OpError
		firstReadEO *kgo.ErrFirstReadEOF
	)
	switch {
	case errors.As(err, &unknownCA):
		return "TLS: server certificate signed by an unknown CA (check SECTION.tls.ca_file)", true
	case errors.As(err, &hostname):
		return "TLS: certificate name mismatch (check the address or SECTION.tls.server_name)", true
	case errors.As(err, &invalid):
		return "TLS: server certificate not valid (expired, or not for this use)", true
	case errors.As(err, &notTLS):
		return "TLS: the server does not speak TLS (is SECTION.tls.enabled set for a plaintext port?)", true
	case errors.As(err, &opErr) && opErr.Op == "remote error":
		// An alert sent by the server during the handshake.
		return "TLS: the server rejected the handshake (" + opErr.Err.Error() + "; is a client certificate required, or not trusted?)", true
	case errors.Is(err, kerr.SaslAuthenticationFailed):
		return "authentication failed", true
	case errors.Is(err, kerr.UnsupportedSaslMechanism), errors.Is(err, kerr.IllegalSaslState):
		return "SASL mechanism not enabled on the broker (check SECTION.sasl.mechanism)", true
	case errors.Is(err, kerr.TopicAuthorizationFailed), errors.Is(err, kerr.ClusterAuthorizationFailed):
		return "not authorized by the broker's ACLs", true
	case errors.As(err, &firstReadEO):
		return "the broker closed the connection at once (it may require TLS or SASL that is not configured)", true
	case redis.IsAuthError(err):
		return "authentication failed", true
	case redis.IsPermissionError(err):
		return "the ACL user lacks a permission the connector needs (see docs/SECURITY.md)", true
	case errors.Is(err, context.DeadlineExceeded):
		return "no answer within " + Timeout.String(), false
	}
	return err.Error(), false
}
