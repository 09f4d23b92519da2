package service

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
	"github.com/kafka-redis-connector/kafka-redis-connector/encryption"
)

// writeKeyFile writes a fresh key, as hex, to dir/name.
func writeKeyFile(t *testing.T, dir, name string) string {
	t.Helper()
	key := make([]byte, encryption.KeySize)
	_, _ = rand.Read(key)
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(hex.EncodeToString(key)+"\n"), 0o400); err != nil {
		t.Fatal(err)
	}
	return path
}

func writeText(t *testing.T, path, text string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestEncryptionOpts(t *testing.T) {
	dir := t.TempDir()
	f1 := writeKeyFile(t, dir, "k1")
	short := writeText(t, filepath.Join(dir, "short"), "abcd\n")
	if opts, err := encryptionOpts(config.Encryption{KeyIDField: "enc_key_id"}); err != nil || opts != nil {
		t.Errorf("off: got %v, %v, want nil, nil", opts, err)
	}
	on := config.Encryption{Enabled: true, KeyID: "k1", Keys: []string{"k1=" + f1}, KeyIDField: "enc_key_id"}
	if opts, err := encryptionOpts(on); err != nil || len(opts) != 1 {
		t.Errorf("on: got %d options, %v, want 1, nil", len(opts), err)
	}
	for _, keys := range [][]string{{"k1=" + short}, {"k1=" + filepath.Join(dir, "nope")}, {"k2=" + f1}} {
		on.Keys = keys
		_, err := encryptionOpts(on)
		var ce *ConfigError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), "encryption.") {
			t.Errorf("keys %v: got %v, want a configuration error (exit 2) naming the encryption key", keys, err)
		}
	}
}
