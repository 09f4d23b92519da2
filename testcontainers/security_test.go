//go:build integration

package testcontainers

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafka-redis-connector/kafka-redis-connector/encryption"
	"github.com/kafka-redis-connector/kafka-redis-connector/oracle"
	"github.com/kafka-redis-connector/kafka-redis-connector/sink"
)

// The security scenarios run the connector over the secure listeners that
// scripts/services.sh opens next to the plain ones: Kafka SASL_SSL (client
// certificate required, then SCRAM-SHA-512) and Redis TLS (client
// certificate required, ACL user krc with the least-privilege ACL of
// docs/SECURITY.md: -@all +xadd +ping on it:*). The tests themselves produce
// and read back over the plain listeners.

// secEndpoints is $KRCDEV_RUN_DIR/secure/endpoints.env (KRCDEV_IT_SECURE_ENV
// overrides the path): the secure addresses and credential files.
type secEndpoints map[string]string

func needSecure(t *testing.T) secEndpoints {
	t.Helper()
	needServices(t)
	if svc.origin != "env" {
		t.Skip("the secure listeners come from scripts/services.sh; services started by testcontainers have none")
	}
	path := os.Getenv("KRCDEV_IT_SECURE_ENV")
	if path == "" {
		dir := os.Getenv("KRCDEV_RUN_DIR")
		if dir == "" {
			dir = "/tmp/krc-services"
		}
		path = filepath.Join(dir, "secure", "endpoints.env")
	}
	f, err := os.Open(path)
	if err != nil {
		msg := "no secure listeners (" + err.Error() + "): `make services-up` opens them when openssl is installed"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	defer f.Close()
	e := secEndpoints{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			e[k] = v
		}
	}
	return e
}

func (e secEndpoints) secret(t *testing.T, key string) string {
	t.Helper()
	b, err := os.ReadFile(e[key])
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// env is the connector configuration for the secure listeners, as the ACL
// user, with extra on top.
func (e secEndpoints) env(extra map[string]string) map[string]string {
	env := map[string]string{
		"KRC_KAFKA_BROKERS":            e["KAFKA_SASL_SSL_BROKERS"],
		"KRC_KAFKA_TLS_ENABLED":        "true",
		"KRC_KAFKA_TLS_CA_FILE":        e["TLS_CA_FILE"],
		"KRC_KAFKA_TLS_CERT_FILE":      e["TLS_CLIENT_CERT_FILE"],
		"KRC_KAFKA_TLS_KEY_FILE":       e["TLS_CLIENT_KEY_FILE"],
		"KRC_KAFKA_SASL_MECHANISM":     e["KAFKA_SASL_MECHANISM"],
		"KRC_KAFKA_SASL_USERNAME":      e["KAFKA_SASL_USERNAME"],
		"KRC_KAFKA_SASL_PASSWORD_FILE": e["KAFKA_SASL_PASSWORD_FILE"],
		"KRC_REDIS_ADDRS":              e["REDIS_TLS_ADDR"],
		"KRC_REDIS_TLS_ENABLED":        "true",
		"KRC_REDIS_TLS_CA_FILE":        e["TLS_CA_FILE"],
		"KRC_REDIS_TLS_CERT_FILE":      e["TLS_CLIENT_CERT_FILE"],
		"KRC_REDIS_TLS_KEY_FILE":       e["TLS_CLIENT_KEY_FILE"],
		"KRC_REDIS_USERNAME":           e["REDIS_ACL_USERNAME"],
		"KRC_REDIS_PASSWORD_FILE":      e["REDIS_ACL_PASSWORD_FILE"],
	}
	for k, v := range extra {
		env[k] = v
	}
	return env
}

// TestSecureOracle: the full oracle scenario over Kafka SASL_SSL (mTLS +
// SCRAM-SHA-512) and Redis TLS (mTLS) as the least-privilege ACL user.
func TestSecureOracle(t *testing.T) {
	sec := needSecure(t)
	s := newScenario(t, "secure_sasl_ssl_redis_tls_acl", 4)
	start := time.Now()
	pr := newProducer(t, s.topic, s.partitions)
	pr.produce(context.Background(), 20000)
	pr.flush(t)
	acked, _, _ := pr.result()

	c := startConnector(t, "secure", s.env(sec.env(nil)))
	s.waitEntries(t, int64(len(acked)), 2*time.Minute, c)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	clients, err := s.rdb.ClientList(ctx).Result()
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	if user := "user=" + sec["REDIS_ACL_USERNAME"]; !strings.Contains(clients, user) {
		t.Errorf("CLIENT LIST has no connection with %s: the connector did not write as the ACL user\n%s", user, clients)
	}
	s.waitCaughtUp(t, time.Minute, c)
	c.stop(t)

	s.requireCommittedAtEnd(t)
	s.verify(t, pr, verifyOpts{noDuplicates: true})
	s.checkDefaultFields(t, start)
}

// TestSecureBadCredentials: every bad credential or certificate ends the
// connector within 10 s with exit code 1 and a message naming the endpoint
// and the cause, before it joins the group (no retry loop).
func TestSecureBadCredentials(t *testing.T) {
	sec := needSecure(t)
	s := newScenario(t, "secure_bad_credentials", 1)
	dir := t.TempDir()
	wrong := secWrite(t, dir, "wrong-password", "wrong-"+secRandomHex(8))
	rogueCA := secRogueCA(t, dir)
	kafka, redis := "kafka "+sec["KAFKA_SASL_SSL_BROKERS"], "redis "+sec["REDIS_TLS_ADDR"]

	cases := []struct {
		name  string
		extra map[string]string
		want  []string
	}{
		{"kafka wrong SCRAM password", map[string]string{"KRC_KAFKA_SASL_PASSWORD_FILE": wrong},
			[]string{kafka, "user krc", "authentication failed"}},
		{"kafka unknown CA", map[string]string{"KRC_KAFKA_TLS_CA_FILE": rogueCA},
			[]string{kafka, "unknown CA"}},
		{"kafka name mismatch", map[string]string{"KRC_KAFKA_TLS_SERVER_NAME": "kafka.invalid"},
			[]string{kafka, "name mismatch"}},
		{"kafka no client certificate", map[string]string{"KRC_KAFKA_TLS_CERT_FILE": "", "KRC_KAFKA_TLS_KEY_FILE": ""},
			[]string{kafka}},
		{"kafka TLS off on the SASL_SSL port", map[string]string{"KRC_KAFKA_TLS_ENABLED": "false"},
			[]string{kafka, "expects TLS"}},
		{"redis TLS off on the TLS port", map[string]string{"KRC_REDIS_TLS_ENABLED": "false"},
			[]string{redis, "expects TLS"}},
		{"redis wrong ACL password", map[string]string{"KRC_REDIS_PASSWORD_FILE": wrong},
			[]string{redis, "user krc", "authentication failed"}},
		{"redis unknown CA", map[string]string{"KRC_REDIS_TLS_CA_FILE": rogueCA},
			[]string{redis, "unknown CA"}},
		{"redis name mismatch", map[string]string{"KRC_REDIS_TLS_SERVER_NAME": "redis.invalid"},
			[]string{redis, "name mismatch"}},
		{"redis no client certificate", map[string]string{"KRC_REDIS_TLS_CERT_FILE": "", "KRC_REDIS_TLS_KEY_FILE": ""},
			[]string{redis}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := startConnector(t, "bad-"+strconv.Itoa(i), s.env(sec.env(tc.extra)))
			start := time.Now()
			select {
			case <-p.done:
			case <-time.After(30 * time.Second):
				t.Fatalf("still running after 30 s; want an exit within 10 s\n%s", tail(p.logPath, 30))
			}
			elapsed := time.Since(start)
			p.stopped.Store(true)
			out := tail(p.logPath, 200)
			msg := secLastLine(out, "kafka-redis-connector run:")
			line := fmt.Sprintf("bad credentials %q: %s after %s: %s", tc.name, exitStatus(p.err), elapsed.Round(100*time.Millisecond), msg)
			t.Log(line)
			recordSummary(line)
			if exitStatus(p.err) != "exit code 1" {
				t.Errorf("got %s, want exit code 1", exitStatus(p.err))
			}
			if elapsed > 10*time.Second {
				t.Errorf("exited after %s, want within 10 s", elapsed.Round(time.Millisecond))
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q does not name %q", msg, w)
				}
			}
			if strings.Contains(out, "connector started") {
				t.Errorf("the pipeline started before the failure was found:\n%s", out)
			}
		})
	}
}

// TestSecureKeyOutsideACL: a stream key the ACL user may not write is the
// deployment's fault, not the record's (every record of that key meets the
// same NOPERM), so errors.policy must not see it: even with policy fail the
// connector keeps the record in Kafka, retries through the breaker, names
// NOPERM in its log, writes and commits nothing, and stays up until an
// operator fixes the ACL or the key.
func TestSecureKeyOutsideACL(t *testing.T) {
	sec := needSecure(t)
	s := newScenario(t, "secacl", 1)
	pr := newProducer(t, s.topic, 1)
	pr.produce(context.Background(), 1)
	pr.flush(t)
	p := startConnector(t, "acl", s.env(sec.env(map[string]string{
		"KRC_STREAM_KEY": "denied:{topic}", "KRC_ERRORS_POLICY": "fail",
		"KRC_CIRCUIT_BREAKER_RECOVERY": "1s",
	})))
	waitFor(t, 30*time.Second, "a log line naming NOPERM", []*connectorProcess{p},
		func(context.Context) (bool, string) {
			return strings.Contains(tail(p.logPath, 400), "NOPERM"), ""
		})
	// Still running a few breaker cycles later: the policy never saw it.
	time.Sleep(3 * time.Second)
	if !p.running() {
		t.Fatalf("connector exited (%s); want it retrying NOPERM through the breaker\n%s", exitStatus(p.err), tail(p.logPath, 40))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	committed, _, err := s.committedAndEnd(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if committed[0] != 0 {
		t.Errorf("committed offset of %s/0: got %d, want 0 (nothing reached Redis)", s.topic, committed[0])
	}
	if out := tail(p.logPath, 400); strings.Contains(out, "dead-letter") || strings.Contains(out, "poison") {
		t.Errorf("NOPERM was treated as the record's fault:\n%s", out)
	}
	p.stopped.Store(true)
	_ = p.cmd.Process.Kill()
	<-p.done
}

// TestSecretsNeverLeak runs the connector with known secrets (the SCRAM
// password from a file, the Redis ACL password inline in the environment,
// an encryption key) through start, a DLQ write, a breaker trip, recovery,
// a second instance failing on a wrong password, and shutdown, and fails if
// any output holds a secret: logs, validate, /stats, /metrics, /healthz,
// /readyz, the dead-letter record, the decrypt command. It also checks the
// encrypted entries with the oracle (lost = 0).
func TestSecretsNeverLeak(t *testing.T) {
	sec := needSecure(t)
	s := newScenario(t, "secrets_never_leak", 2)
	dlq := s.topic + "-dlq"
	createTopic(t, s.adm, dlq, 1)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = s.adm.DeleteTopics(ctx, dlq)
	})
	dir := t.TempDir()
	keyHex, wrongPass := secRandomHex(32), "wrong-"+secRandomHex(12)
	keyFile := secWrite(t, dir, "payload.key", keyHex+"\n")
	wrongFile := secWrite(t, dir, "wrong-password", wrongPass)
	secrets := map[string]string{
		"kafka SCRAM password": sec.secret(t, "KAFKA_SASL_PASSWORD_FILE"),
		"redis ACL password":   sec.secret(t, "REDIS_ACL_PASSWORD_FILE"),
		"payload key":          keyHex,
		"wrong password":       wrongPass,
	}

	proxy := obsStartProxy(t, sec["REDIS_TLS_ADDR"])
	httpAddr := freeAddr(t)
	env := s.env(sec.env(map[string]string{
		"KRC_REDIS_ADDRS":            proxy.addr,
		"KRC_REDIS_PASSWORD_FILE":    "",
		"KRC_REDIS_PASSWORD":         secrets["redis ACL password"],
		"KRC_REDIS_READ_TIMEOUT":     "1s",
		"KRC_FLUSH_TIMEOUT":          "2s",
		"KRC_HTTP_LISTEN":            httpAddr,
		"KRC_LOG_LEVEL":              "debug",
		"KRC_LOG_FORMAT":             "json",
		"KRC_ERRORS_DLQ_TOPIC":       dlq,
		"KRC_STREAM_MAX_ENTRY_BYTES": "1000",
		"KRC_ENCRYPTION_ENABLED":     "true",
		"KRC_ENCRYPTION_KEY_ID":      "it-2026",
		"KRC_ENCRYPTION_KEYS":        "it-2026=" + keyFile,
	}))
	outputs := map[string]string{}
	outputs["validate"] = secRunCLI(t, env, "validate")

	c := startConnector(t, "a", env)
	pr := newProducer(t, s.topic, s.partitions)
	l := startLoad(pr, 8000, 800)
	s.waitEntries(t, 500, time.Minute, c)
	base := "http://" + httpAddr
	obsWaitHTTP(t, c, base+"/readyz", http.StatusOK)
	secScrape(t, base, "running", outputs)

	// A record over stream.max_entry_bytes goes to the dead-letter topic.
	big := &kgo.Record{Topic: s.topic, Partition: 0, Value: []byte(strings.Repeat("big", 2000))}
	if err := pr.cl.ProduceSync(context.Background(), big).FirstErr(); err != nil {
		t.Fatal(err)
	}
	outputs["dead-letter record"] = secReadDLQ(t, dlq)

	// Redis goes away behind the proxy until the breaker opens.
	proxy.setDown(true)
	waitFor(t, time.Minute, "the circuit breaker to trip", []*connectorProcess{c}, func(context.Context) (bool, string) {
		m := secGet(base + "/metrics")
		v := secMetric(m, "krc_circuit_breaker_trips_total")
		return v >= 1, fmt.Sprintf("krc_circuit_breaker_trips_total %v", v)
	})
	secScrape(t, base, "breaker open", outputs)
	proxy.setDown(false)

	sent := l.wait(t)
	s.waitEntries(t, int64(sent), 2*time.Minute, c)
	s.waitCaughtUp(t, time.Minute, c)
	secScrape(t, base, "recovered", outputs)

	// A second instance with a wrong password fails at start.
	badEnv := map[string]string{}
	for k, v := range env {
		badEnv[k] = v
	}
	badEnv["KRC_KAFKA_SASL_PASSWORD_FILE"] = wrongFile
	badEnv["KRC_HTTP_LISTEN"] = ""
	bad := startConnector(t, "bad-password", badEnv)
	select {
	case <-bad.done:
		bad.stopped.Store(true)
	case <-time.After(30 * time.Second):
		t.Fatal("the instance with a wrong password is still running after 30 s")
	}
	if exitStatus(bad.err) != "exit code 1" {
		t.Errorf("wrong password: got %s, want exit code 1", exitStatus(bad.err))
	}

	c.stop(t)
	outputs["connector log"] = tail(c.logPath, 1<<30)
	outputs["bad-password log"] = tail(bad.logPath, 1<<30)

	ring := encryption.NewKeyring()
	key, _ := hex.DecodeString(keyHex)
	if err := ring.Add("it-2026", key); err != nil {
		t.Fatal(err)
	}
	secVerifySealed(t, s, pr, ring, encryption.EntryFields{KeyID: "enc_key_id", Sealed: []string{"value"}})
	outputs["decrypt"] = secRunCLI(t, map[string]string{"KRC_REDIS_ADDRS": svc.redisAddr, "KRC_ENCRYPTION_KEYS": "it-2026=" + keyFile},
		"decrypt", "--stream", s.streamKey(0), "--count", "5")
	if !strings.Contains(outputs["decrypt"], `"value":"p=0;seq=0;`) {
		t.Errorf("decrypt --stream: got\n%s\nwant the first record of partition 0 in clear", outputs["decrypt"])
	}

	for what, out := range outputs {
		for name, secret := range secrets {
			for _, form := range []string{secret, base64.StdEncoding.EncodeToString([]byte(secret))} {
				if strings.Contains(out, form) {
					t.Errorf("%s holds the %s", what, name)
				}
			}
		}
	}
	t.Logf("checked %d outputs (%d bytes of connector log) for %d secrets", len(outputs), len(outputs["connector log"]), len(secrets))
}

// secVerifySealed is verify for encrypted entries: every value must be
// sealed, must open, and the oracle must find lost = 0 and no reordering.
func secVerifySealed(t *testing.T, s *scenario, pr *producer, ring *encryption.Keyring, fields encryption.EntryFields) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	acked, failed, _ := pr.result()
	c := oracle.NewChecker()
	for _, r := range acked {
		c.Expect(r.partition, r.seq)
	}
	bad := 0
	for p := range s.partitions {
		err := sink.ReadStream(ctx, s.rdb, s.streamKey(p), func(id string, f map[string]any) error {
			if v := fmt.Sprint(f["value"]); strings.HasPrefix(v, "p=") {
				return fmt.Errorf("%s %s: value stored in clear: %q", s.streamKey(p), id, v)
			}
			if err := ring.OpenEntry(f, fields); err != nil {
				return fmt.Errorf("%s %s: %w", s.streamKey(p), id, err)
			}
			vp, seq, ok := parseValue(fmt.Sprint(f["value"]))
			if !ok || vp != p {
				if bad++; bad <= 10 {
					t.Errorf("%s %s: opened value %q is not a record of partition %d", s.streamKey(p), id, f["value"], p)
				}
				return nil
			}
			c.Observe(vp, seq)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	r := c.Report()
	logOracle(t, s.name, r)
	checkReport(t, r, failed, verifyOpts{})
}

// secScrape stores the bodies of the HTTP endpoints under label.
func secScrape(t *testing.T, base, label string, into map[string]string) {
	t.Helper()
	for _, path := range []string{"/stats", "/metrics", "/healthz", "/readyz"} {
		into[path+" ("+label+")"] = secGet(base + path)
	}
}

func secGet(u string) string {
	resp, err := http.Get(u)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// secMetric sums the samples of an unlabelled or labelled counter.
func secMetric(body, name string) float64 {
	sum := 0.0
	for _, line := range strings.Split(body, "\n") {
		if !strings.HasPrefix(line, name+" ") && !strings.HasPrefix(line, name+"{") {
			continue
		}
		f := strings.Fields(line)
		if v, err := strconv.ParseFloat(f[len(f)-1], 64); err == nil {
			sum += v
		}
	}
	return sum
}

// secReadDLQ waits for the one record of the dead-letter topic and returns
// it rendered as text (key, value, headers).
func secReadDLQ(t *testing.T, topic string) string {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(svc.brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("no record on the dead-letter topic %s within 1m", topic)
		}
		var out strings.Builder
		fs.EachRecord(func(r *kgo.Record) {
			fmt.Fprintf(&out, "key=%q value=%d bytes\n", r.Key, len(r.Value))
			for _, h := range r.Headers {
				fmt.Fprintf(&out, "%s: %s\n", h.Key, h.Value)
			}
		})
		if out.Len() > 0 {
			if !strings.Contains(out.String(), "krc.reason: entry_too_large") {
				t.Errorf("dead-letter record: got\n%s\nwant krc.reason entry_too_large", out.String())
			}
			return out.String()
		}
	}
}

// secRunCLI runs the connector binary with env (and no other KRC_
// variable) and returns its combined output.
func secRunCLI(t *testing.T, env map[string]string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, connectorBin, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KRC_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// secLastLine returns the last line of out containing marker, else the
// last line.
func secLastLine(out, marker string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(lines[i], marker) {
			return lines[i]
		}
	}
	return lines[len(lines)-1]
}

func secWrite(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func secRandomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// secRogueCA writes a self-signed CA certificate that signed nothing the
// services present, for the unknown-CA cases.
func secRogueCA(t *testing.T, dir string) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "rogue CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return secWrite(t, dir, "rogue-ca.pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
}
