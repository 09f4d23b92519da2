package encryption

import (
	"fmt"
	"os"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
)

// KeySize is the length of an AES-256 key in bytes.
const KeySize = config.KeySize

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

// ParseKey decodes key material in one of the forms ReadKeyFile accepts
// (config.DecodeKey holds the rule, so validate checks key files the same way).
// The error never contains the material.
func ParseKey(b []byte) ([]byte, error) {
	k, err := config.DecodeKey(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadKey, err)
	}
	return k, nil
}
