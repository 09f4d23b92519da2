package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kafka-redis-connector/kafka-redis-connector/internal/securetest"
)

// TestRunFailsFastOnBadCredentials: the CLI exits 1 before starting the
// pipeline, with the start-up check's message and no password.
func TestRunFailsFastOnBadCredentials(t *testing.T) {
	sp := securetest.NewPair(t)
	dir := t.TempDir()
	pw := writeText(t, filepath.Join(dir, "redis-pw"), "not-the-password\n")
	cfg := writeText(t, filepath.Join(dir, "c.yaml"), `
kafka:
  brokers: [`+sp.Brokers[0]+`]
  tls: {enabled: true, ca_file: `+sp.CA.File+`, cert_file: `+sp.ClientCert+`, key_file: `+sp.ClientKey+`}
  sasl: {mechanism: SCRAM-SHA-512, username: krc, password: `+securetest.KafkaPassword+`}
redis:
  addrs: [`+sp.RedisAddr+`]
  username: krc
  password_file: `+pw+`
  tls: {enabled: true, ca_file: `+sp.CA.File+`}
http: {listen: ""}
`)
	code, _, errOut := runCLI("run", "--config", cfg)
	if code != exitFailure {
		t.Fatalf("got exit %d, want %d; stderr:\n%s", code, exitFailure, errOut)
	}
	if !strings.Contains(errOut, "start-up check failed: redis "+sp.RedisAddr+" (user krc): authentication failed") {
		t.Errorf("got stderr\n%s\nwant the start-up check naming the broker and the cause", errOut)
	}
	if strings.Contains(errOut, "connector started") {
		t.Errorf("the pipeline started despite the failed check:\n%s", errOut)
	}
	for _, secret := range []string{securetest.KafkaPassword, "not-the-password"} {
		if strings.Contains(errOut, secret) {
			t.Errorf("stderr holds a password:\n%s", errOut)
		}
	}
}

// TestConfigFilesAreChecked: every file-valued key names a file that
// validate, and run before it connects, read and check: a missing,
// unreadable, empty or malformed file is a configuration error (exit 2)
// naming the key, the path and what is wrong.
func TestConfigFilesAreChecked(t *testing.T) {
	dir := t.TempDir()
	ca := securetest.NewCA(t, dir, "files")
	cert, key, _ := ca.Issue("krc", true)
	_, otherKey, _ := ca.Issue("other", true)
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
