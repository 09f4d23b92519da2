package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
	"github.com/kafka-redis-connector/kafka-redis-connector/connector"
	"github.com/kafka-redis-connector/kafka-redis-connector/sink"
)

// testCA is a throw-away certificate authority writing PEM files to dir.
type testCA struct {
	t    *testing.T
	dir  string
	name string
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	File string // the CA certificate
}

func newTestCA(t *testing.T, dir, name string) *testCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	ca := &testCA{t: t, dir: dir, name: name, cert: cert, key: key}
	ca.File = ca.write(name+"-ca.pem", "CERTIFICATE", der)
	return ca
}

func (ca *testCA) write(name, typ string, der []byte) string {
	path := filepath.Join(ca.dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		ca.t.Fatal(err)
	}
	return path
}

// issue signs a certificate for 127.0.0.1 and localhost (server) or a
// client, and returns the cert and key files and the tls.Certificate.
func (ca *testCA) issue(cn string, client bool) (certFile, keyFile string, pair tls.Certificate) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	if client {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
		tmpl.DNSNames, tmpl.IPAddresses = nil, nil
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		ca.t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	certFile = ca.write(ca.name+"-"+cn+".pem", "CERTIFICATE", der)
	keyFile = ca.write(ca.name+"-"+cn+"-key.pem", "PRIVATE KEY", kder)
	pair, err = tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		ca.t.Fatal(err)
	}
	return certFile, keyFile, pair
}

func (ca *testCA) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// securePair is an in-process Kafka with TLS (client certificates
// required) and SCRAM-SHA-512, and a Redis with an ACL user.
type securePair struct {
	ca, rogue             *testCA
	brokers               []string
	redisAddr             string
	clientCert, clientKey string
}

const (
	testKafkaPassword = "kafka-pass-Q7x1"
	testRedisPassword = "redis-pass-Z3k9"
)

func newSecurePair(t *testing.T) *securePair {
	t.Helper()
	dir := t.TempDir()
	sp := &securePair{ca: newTestCA(t, dir, "good"), rogue: newTestCA(t, dir, "rogue")}
	_, _, serverPair := sp.ca.issue("server", false)
	sp.clientCert, sp.clientKey, _ = sp.ca.issue("krc", true)
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1),
		kfake.TLS(&tls.Config{Certificates: []tls.Certificate{serverPair}, ClientCAs: sp.ca.pool(),
			ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12}),
		kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-512", "krc", testKafkaPassword))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	sp.brokers = cluster.ListenAddrs()
	mr := miniredis.NewMiniRedis()
	mr.RequireUserAuth("krc", testRedisPassword)
	if err := mr.StartTLS(&tls.Config{Certificates: []tls.Certificate{serverPair}, MinVersion: tls.VersionTLS12}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(mr.Close)
	sp.redisAddr = mr.Addr()
	return sp
}

// config returns a configuration that passes the start-up check.
func (sp *securePair) config() config.Config {
	cfg := config.Default()
	cfg.Kafka.Brokers = sp.brokers
	cfg.Kafka.TLS = config.TLS{Enabled: true, CAFile: sp.ca.File, CertFile: sp.clientCert, KeyFile: sp.clientKey}
	cfg.Kafka.SASL = config.SASL{Mechanism: "SCRAM-SHA-512", Username: "krc", Password: testKafkaPassword}
	cfg.Redis.Addrs = []string{sp.redisAddr}
	cfg.Redis.TLS = config.TLS{Enabled: true, CAFile: sp.ca.File}
	cfg.Redis.Username, cfg.Redis.Password = "krc", testRedisPassword
	return cfg
}

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
	return preflight(context.Background(), cfg, rdb, kopts, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

// TestPreflight runs the start-up check against an in-process Kafka and
// Redis. kfake answers a wrong SASL password by closing the connection
// rather than with SASL_AUTHENTICATION_FAILED as Apache Kafka does, so that
// case is covered by TestDescribeConnectError here and by the real-service
// suite (testcontainers/security_test.go).
func TestPreflight(t *testing.T) {
	sp := newSecurePair(t)
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
		{"kafka unknown CA", func(c *config.Config) { c.Kafka.TLS.CAFile = sp.rogue.File },
			[]string{"kafka " + sp.brokers[0], "unknown CA"}},
		{"kafka name mismatch", func(c *config.Config) { c.Kafka.TLS.ServerName = "kafka.example.com" },
			[]string{"kafka " + sp.brokers[0], "name mismatch"}},
		{"kafka without client certificate", func(c *config.Config) { c.Kafka.TLS.CertFile, c.Kafka.TLS.KeyFile = "", "" },
			[]string{"kafka " + sp.brokers[0], "TLS"}},
		{"kafka without TLS", func(c *config.Config) { c.Kafka.TLS = config.TLS{} },
			[]string{"kafka " + sp.brokers[0]}},
		{"redis wrong password", func(c *config.Config) { c.Redis.Password = "wrong-redis-pass" },
			[]string{"redis " + sp.redisAddr, "authentication failed", "(user krc)"}},
		{"redis without TLS", func(c *config.Config) { c.Redis.TLS = config.TLS{} },
			[]string{"redis " + sp.redisAddr, "expects TLS (set redis.tls.enabled)"}},
		{"redis unknown CA", func(c *config.Config) { c.Redis.TLS.CAFile = sp.rogue.File },
			[]string{"redis " + sp.redisAddr, "unknown CA"}},
		{"redis name mismatch", func(c *config.Config) { c.Redis.TLS.ServerName = "redis.example.com" },
			[]string{"redis " + sp.redisAddr, "name mismatch"}},
		{"both wrong", func(c *config.Config) {
			c.Kafka.TLS.CAFile = sp.rogue.File
			c.Redis.Password = "wrong-redis-pass"
		},
			[]string{"kafka " + sp.brokers[0], "redis " + sp.redisAddr}},
		{"unreachable is not fatal", func(c *config.Config) {
			c.Redis.Addrs = []string{closed}
			c.Kafka.Brokers = []string{closed}
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := sp.config()
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
			for _, secret := range []string{testKafkaPassword, testRedisPassword, "wrong-kafka-pass", "wrong-redis-pass"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("got %q, which holds a password", err)
				}
			}
		})
	}
}

// TestRunFailsFastOnBadCredentials: the CLI exits 1 before starting the
// pipeline, with the start-up check's message and no password.
func TestRunFailsFastOnBadCredentials(t *testing.T) {
	sp := newSecurePair(t)
	dir := t.TempDir()
	pw := writeText(t, filepath.Join(dir, "redis-pw"), "not-the-password\n")
	cfg := writeText(t, filepath.Join(dir, "c.yaml"), `
kafka:
  brokers: [`+sp.brokers[0]+`]
  tls: {enabled: true, ca_file: `+sp.ca.File+`, cert_file: `+sp.clientCert+`, key_file: `+sp.clientKey+`}
  sasl: {mechanism: SCRAM-SHA-512, username: krc, password: `+testKafkaPassword+`}
redis:
  addrs: [`+sp.redisAddr+`]
  username: krc
  password_file: `+pw+`
  tls: {enabled: true, ca_file: `+sp.ca.File+`}
http: {listen: ""}
`)
	code, _, errOut := runCLI("run", "--config", cfg)
	if code != exitFailure {
		t.Fatalf("got exit %d, want %d; stderr:\n%s", code, exitFailure, errOut)
	}
	if !strings.Contains(errOut, "start-up check failed: redis "+sp.redisAddr+" (user krc): authentication failed") {
		t.Errorf("got stderr\n%s\nwant the start-up check naming the broker and the cause", errOut)
	}
	if strings.Contains(errOut, "connector started") {
		t.Errorf("the pipeline started despite the failed check:\n%s", errOut)
	}
	for _, secret := range []string{testKafkaPassword, "not-the-password"} {
		if strings.Contains(errOut, secret) {
			t.Errorf("stderr holds a password:\n%s", errOut)
		}
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

// TestConfigFilesAreChecked: every file-valued key names a file that
// validate, and run before it connects, read and check: a missing,
// unreadable, empty or malformed file is a configuration error (exit 2)
// naming the key, the path and what is wrong.
func TestConfigFilesAreChecked(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t, dir, "files")
	cert, key, _ := ca.issue("krc", true)
	_, otherKey, _ := ca.issue("other", true)
	secret := writeText(t, filepath.Join(dir, "secret"), "s3cret\n")
	empty := writeText(t, filepath.Join(dir, "empty"), " \n")
	notPEM := writeText(t, filepath.Join(dir, "not.pem"), "hello\n")
	encKey, _ := writeKeyFile(t, dir, "k1")
	shortKey := writeText(t, filepath.Join(dir, "short-key"), "abcd\n")
	missing := filepath.Join(dir, "missing")
	subdir := filepath.Join(dir, "a-directory")
	if err := os.Mkdir(subdir, 0o700); err != nil {
		t.Fatal(err)
	}
	// Every file-valued key set to a good file; plaintext endpoints that
	// refuse connections, so nothing could be reached.
	good := map[string]string{
		"KRC_KAFKA_BROKERS":            "127.0.0.1:1",
		"KRC_KAFKA_TLS_ENABLED":        "true",
		"KRC_KAFKA_TLS_CA_FILE":        ca.File,
		"KRC_KAFKA_TLS_CERT_FILE":      cert,
		"KRC_KAFKA_TLS_KEY_FILE":       key,
		"KRC_KAFKA_SASL_MECHANISM":     "SCRAM-SHA-512",
		"KRC_KAFKA_SASL_USERNAME":      "krc",
		"KRC_KAFKA_SASL_PASSWORD_FILE": secret,
		"KRC_KAFKA_SASL_TOKEN_FILE":    secret,
		"KRC_REDIS_ADDRS":              "127.0.0.1:1",
		"KRC_REDIS_PASSWORD_FILE":      secret,
		"KRC_REDIS_TLS_ENABLED":        "true",
		"KRC_REDIS_TLS_CA_FILE":        ca.File,
		"KRC_REDIS_TLS_CERT_FILE":      cert,
		"KRC_REDIS_TLS_KEY_FILE":       key,
		"KRC_ENCRYPTION_ENABLED":       "true",
		"KRC_ENCRYPTION_KEY_ID":        "k1",
		"KRC_ENCRYPTION_KEYS":          "k1=" + encKey,
		"KRC_HTTP_LISTEN":              "",
	}
	setEnv := func(t *testing.T, override map[string]string) {
		for k, v := range good {
			t.Setenv(k, v)
		}
		for k, v := range override {
			t.Setenv(k, v)
		}
	}
	t.Run("good files validate", func(t *testing.T) {
		setEnv(t, nil)
		if code, _, errOut := runCLI("validate"); code != exitOK {
			t.Fatalf("got exit %d, want %d; stderr:\n%s", code, exitOK, errOut)
		}
	})

	tests := []struct {
		name     string
		override map[string]string
		want     string // in stderr: the key, the path and why
	}{
		{"redis password file missing", map[string]string{"KRC_REDIS_PASSWORD_FILE": missing},
			"config: redis.password_file = " + missing + ": file does not exist"},
		{"redis password file is a directory", map[string]string{"KRC_REDIS_PASSWORD_FILE": subdir},
			"config: redis.password_file = " + subdir + ": is a directory, not a file"},
		{"redis password file empty", map[string]string{"KRC_REDIS_PASSWORD_FILE": empty},
			"config: redis.password_file = " + empty + ": file is empty"},
		{"kafka sasl password file missing", map[string]string{"KRC_KAFKA_SASL_PASSWORD_FILE": missing},
			"config: kafka.sasl.password_file = " + missing + ": file does not exist"},
		{"kafka sasl token file missing", map[string]string{"KRC_KAFKA_SASL_MECHANISM": "OAUTHBEARER", "KRC_KAFKA_SASL_TOKEN_FILE": missing},
			"config: kafka.sasl.token_file = " + missing + ": file does not exist"},
		{"kafka ca file not PEM", map[string]string{"KRC_KAFKA_TLS_CA_FILE": notPEM},
			"config: kafka.tls.ca_file = " + notPEM + ": holds no PEM certificate"},
		{"kafka cert file missing", map[string]string{"KRC_KAFKA_TLS_CERT_FILE": missing},
			"config: kafka.tls.cert_file = " + missing + ": file does not exist"},
		{"kafka key file not a key", map[string]string{"KRC_KAFKA_TLS_KEY_FILE": ca.File},
			"config: kafka.tls.key_file = " + ca.File + ": holds no PEM private key"},
		{"kafka key of another certificate", map[string]string{"KRC_KAFKA_TLS_KEY_FILE": otherKey},
			"config: kafka.tls.key_file = " + otherKey + ": is not the private key of kafka.tls.cert_file"},
		{"redis ca file missing", map[string]string{"KRC_REDIS_TLS_CA_FILE": missing},
			"config: redis.tls.ca_file = " + missing + ": file does not exist"},
		{"redis cert file not PEM", map[string]string{"KRC_REDIS_TLS_CERT_FILE": notPEM},
			"config: redis.tls.cert_file = " + notPEM + ": holds no PEM certificate"},
		{"redis key file empty", map[string]string{"KRC_REDIS_TLS_KEY_FILE": empty},
			"config: redis.tls.key_file = " + empty + ": holds no PEM private key"},
		{"encryption key file missing", map[string]string{"KRC_ENCRYPTION_KEYS": "k1=" + missing},
			"config: encryption.keys = k1=" + missing + ": file does not exist"},
		{"encryption key file too short", map[string]string{"KRC_ENCRYPTION_KEYS": "k1=" + shortKey},
			"config: encryption.keys = k1=" + shortKey + ": not a usable key: want 32 bytes"},
		{"reader key file missing", map[string]string{"KRC_ENCRYPTION_KEYS": "k1=" + encKey + ",old=" + missing},
			"config: encryption.keys = old=" + missing + ": file does not exist"},
	}
	for _, tt := range tests {
		for _, cmd := range []string{"validate", "run"} {
			t.Run(cmd+"/"+tt.name, func(t *testing.T) {
				setEnv(t, tt.override)
				code, errOut := runCLIWithin(t, 10*time.Second, cmd)
				if code != exitUsage {
					t.Errorf("got exit %d, want %d; stderr:\n%s", code, exitUsage, errOut)
				}
				if !strings.Contains(errOut, tt.want) {
					t.Errorf("got stderr\n%s\nwant it to contain %q", errOut, tt.want)
				}
				if strings.Contains(errOut, "s3cret") {
					t.Errorf("stderr shows a secret's content:\n%s", errOut)
				}
			})
		}
	}
}

// runCLIWithin runs the CLI and fails t if it has not returned within d (a
// run that gets past its configuration checks would go on connecting).
func runCLIWithin(t *testing.T, d time.Duration, args ...string) (code int, stderr string) {
	t.Helper()
	type result struct {
		code   int
		stderr string
	}
	done := make(chan result, 1)
	go func() {
		code, _, errOut := runCLI(args...)
		done <- result{code, errOut}
	}()
	select {
	case r := <-done:
		return r.code, r.stderr
	case <-time.After(d):
		t.Fatalf("%v: still running after %v, want it to exit on its configuration", args, d)
		return 0, ""
	}
}
