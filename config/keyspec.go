package config

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
)

// keyIDPattern is what an encryption key id may look like: it is stored
// in every sealed entry, so it stays short and printable.
var keyIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// ValidKeyID reports whether id can name an encryption key: 1 to 64
// letters, digits, '.', '_' or '-'. Package encryption applies the same
// rule to the keys it is given.
func ValidKeyID(id string) bool { return keyIDPattern.MatchString(id) }

// ParseKeySpec splits "ID=FILE", the form encryption.keys and the decrypt
// command's --key flag take.
func ParseKeySpec(spec string) (id, file string, err error) {
	id, file, ok := strings.Cut(spec, "=")
	switch {
	case !ok:
		return "", "", fmt.Errorf("config: key spec %q is not ID=FILE", spec)
	case !ValidKeyID(id):
		return "", "", fmt.Errorf("config: key id %q must be 1 to 64 letters, digits, '.', '_' or '-'", id)
	case file == "":
		return "", "", fmt.Errorf("config: key %s has no file", id)
	}
	return id, file, nil
}

// KeySize is the length of an AES-256 payload encryption key in bytes.
const KeySize = 32

// DecodeKey decodes key material: exactly 32 raw (random, so not all
// printable) bytes, or text: 64 hex digits or base64 (standard or URL
// alphabet, padded or not), surrounding whitespace ignored. The error never
// contains the material.
func DecodeKey(b []byte) ([]byte, error) {
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
	return nil, fmt.Errorf("want %d bytes: raw, as %d hex digits, or base64 (got %d bytes that are none of these)",
		KeySize, 2*KeySize, len(b))
}

func printable(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}
