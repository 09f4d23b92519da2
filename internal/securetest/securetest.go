package securetest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
)

// CA is a throw-away certificate authority writing PEM files to dir.
type CA struct {
	t    testing.TB
	dir  string
	name string
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	File string // the CA certificate
}

// NewCA makes a CA named name whose files go to dir.
func NewCA(t testing.TB, dir, name string) *CA {
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
	ca := &CA{t: t, dir: dir, name: name, cert: cert, key: key}
	ca.File = ca.write(name+"-ca.pem", "CERTIFICATE", der)
	return ca
}

func (ca *CA) write(name, typ string, der []byte) string {
	path := filepath.Join(ca.dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		ca.t.Fatal(err)
	}
	return path
}

// Issue signs a certificate for 127.0.0.1 and localhost (server) or a
// client, and returns the cert and key files and the tls.Certificate.
func (ca *CA) Issue(cn string, client bool) (certFile, keyFile string, pair tls.Certificate) {
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

// Pool is a certificate pool holding the CA.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// Pair is an in-process Kafka with TLS (client certificates
// required) and SCRAM-SHA-512, and a Redis with an ACL user.
type Pair struct {
	CA, Rogue             *CA // Rogue signed nothing the servers trust
	Brokers               []string
	RedisAddr             string
	ClientCert, ClientKey string // signed by CA
}

// The passwords NewPair's servers accept.
const (
	KafkaPassword = "kafka-pass-Q7x1"
	RedisPassword = "redis-pass-Z3k9"
)

// NewPair starts the servers; t's cleanup stops them.
func NewPair(t testing.TB) *Pair {
	t.Helper()
	dir := t.TempDir()
	sp := &Pair{CA: NewCA(t, dir, "good"), Rogue: NewCA(t, dir, "rogue")}
	_, _, serverPair := sp.CA.Issue("server", false)
	sp.ClientCert, sp.ClientKey, _ = sp.CA.Issue("krc", true)
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1),
		kfake.TLS(&tls.Config{Certificates: []tls.Certificate{serverPair}, ClientCAs: sp.CA.Pool(),
			ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12}),
		kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-512", "krc", KafkaPassword))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	sp.Brokers = cluster.ListenAddrs()
	mr := miniredis.NewMiniRedis()
	mr.RequireUserAuth("krc", RedisPassword)
	if err := mr.StartTLS(&tls.Config{Certificates: []tls.Certificate{serverPair}, MinVersion: tls.VersionTLS12}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(mr.Close)
	sp.RedisAddr = mr.Addr()
	return sp
}

// Config returns a configuration that passes the start-up check.
func (sp *Pair) Config() config.Config {
	cfg := config.Default()
	cfg.Kafka.Brokers = sp.Brokers
	cfg.Kafka.TLS = config.TLS{Enabled: true, CAFile: sp.CA.File, CertFile: sp.ClientCert, KeyFile: sp.ClientKey}
	cfg.Kafka.SASL = config.SASL{Mechanism: "SCRAM-SHA-512", Username: "krc", Password: KafkaPassword}
	cfg.Redis.Addrs = []string{sp.RedisAddr}
	cfg.Redis.TLS = config.TLS{Enabled: true, CAFile: sp.CA.File}
	cfg.Redis.Username, cfg.Redis.Password = "krc", RedisPassword
	return cfg
}
