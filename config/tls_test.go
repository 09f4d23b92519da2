package config_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
)

// writeCert writes a self-signed certificate and its key as PEM files in
// dir and returns their paths.
func writeCert(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func TestTLSClientConfig(t *testing.T) {
	dir := t.TempDir()
	cert, key := writeCert(t, dir)
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		tls       config.TLS
		wantErr   string // substring; empty: no error
		wantCAs   bool
		wantCerts int
	}{
		{name: "no files", tls: config.TLS{Enabled: true}},
		{name: "ca file", tls: config.TLS{Enabled: true, CAFile: cert}, wantCAs: true},
		{name: "client certificate", tls: config.TLS{Enabled: true, CAFile: cert, CertFile: cert, KeyFile: key}, wantCAs: true, wantCerts: 1},
		{name: "missing ca file", tls: config.TLS{CAFile: filepath.Join(dir, "nope")}, wantErr: "ca_file: "},
		{name: "ca file without pem", tls: config.TLS{CAFile: notPEM}, wantErr: "no PEM certificate found"},
		{name: "cert without key", tls: config.TLS{CertFile: cert}, wantErr: "client certificate: "},
		{name: "key that is not one", tls: config.TLS{CertFile: cert, KeyFile: notPEM}, wantErr: "client certificate: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tc, err := tt.tls.ClientConfig()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want an error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("got %v, want no error", err)
			}
			if got := tc.RootCAs != nil; got != tt.wantCAs {
				t.Errorf("RootCAs set: got %v, want %v", got, tt.wantCAs)
			}
			if got := len(tc.Certificates); got != tt.wantCerts {
				t.Errorf("certificates: got %d, want %d", got, tt.wantCerts)
			}
			if tc.MinVersion != tls.VersionTLS12 {
				t.Errorf("MinVersion: got %#x, want TLS 1.2 (%#x)", tc.MinVersion, tls.VersionTLS12)
			}
		})
	}
	t.Run("server name and skip verify carried", func(t *testing.T) {
		tc, err := config.TLS{ServerName: "redis.internal", InsecureSkipVerify: true}.ClientConfig()
		if err != nil || tc.ServerName != "redis.internal" || !tc.InsecureSkipVerify {
			t.Errorf("got %q, %v, %v, want redis.internal, true, nil", tc.ServerName, tc.InsecureSkipVerify, err)
		}
	})
}
