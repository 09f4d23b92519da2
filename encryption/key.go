package encryption

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
)

// KeySize is the length of an AES-256 key in bytes.
const KeySize = 32

// ValidKeyID reports whether id can name a key: 1 to 64 letters, digits,
// '.', '_' or '-' (config.ValidKeyID: the rule the configuration is
// checked against).
func ValidKeyID(id string) bool { return config.ValidKeyID(id) }

// ReadKeyFile reads a 32-byte key from path. The file holds the key as
// exactly 32 raw (random, so not all printable) bytes, or as text: 64 hex digits or base64 (standard or
// URL alphabet, padded or not), surrounding whitespace ignored. Create one
// with `openssl rand -hex 32 > key` or `head -c 32 /dev/urandom > key`.
func ReadKeyFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadKey, err)
	}
	key, err := ParseKey(b)
	if err != nil {
		return nil, fmt.Errorf("%w (file %s)", err, path)
	}
	return key, nil
}

// ParseKey decodes key material in one of the forms ReadKeyFile accepts.
// The error never contains the material.
func ParseKey(b []byte) ([]byte, error) {
	// 32 printable characters are a passphrase or a short hex key, not 32
	// random bytes (which are all printable once in about 10^17 keys).
	if len(b) == KeySize && !printable(b) {
		return bytes.Clone(b), nil
	}
	text := string(bytes.TrimSpace(b))
	if len(text) == 2*KeySize {
		if k, err := hex.DecodeString(text); err == nil {
			return k, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(text); err == nil && len(k) == KeySize {
			return k, nil
		}
	}
	return nil, fmt.Errorf("%w: want %d bytes: raw, as %d hex digits, or base64 (got %d bytes that are none of these)",
		ErrBadKey, KeySize, 2*KeySize, len(b))
}

func printable(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}
