package encryption

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"sync/atomic"
)

// Sizes of the sealed format.
const (
	// Version is the format version byte every sealed value starts with.
	Version   = 1
	NonceSize = 12
	TagSize   = 16
	// Overhead is how many bytes sealing adds to a value.
	Overhead = 1 + NonceSize + TagSize
)

func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("%w: got %d bytes, want %d", ErrBadKey, len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadKey, err)
	}
	return cipher.NewGCM(block)
}

// Sealer encrypts field values with one key. It is safe for concurrent use.
//
// Nonces are a random 4-byte prefix and an 8-byte counter that starts at a
// random value, both drawn when the Sealer is built. Within one Sealer a
// nonce never repeats (2^64 values); two Sealers with the same key (several
// instances, restarts) collide only if both 96-bit random starting points
// land within each other's range, which stays negligible far beyond the
// 2^32-message limit that purely random nonces would impose per key.
type Sealer struct {
	id      string
	aead    cipher.AEAD
	prefix  [4]byte
	counter atomic.Uint64
}

// NewSealer returns a Sealer that encrypts with key and labels entries id.
func NewSealer(id string, key []byte) (*Sealer, error) {
	if !ValidKeyID(id) {
		return nil, fmt.Errorf("%w: key id %q must be 1 to 64 letters, digits, '.', '_' or '-'", ErrBadKey, id)
	}
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	s := &Sealer{id: id, aead: aead}
	var start [12]byte
	if _, err := rand.Read(start[:]); err != nil {
		return nil, fmt.Errorf("encryption: nonce seed: %w", err)
	}
	copy(s.prefix[:], start[:4])
	s.counter.Store(binary.BigEndian.Uint64(start[4:]))
	return s, nil
}

// KeyID returns the id of the Sealer's key, which the connector stores in
// every entry it seals.
func (s *Sealer) KeyID() string { return s.id }

// AppendSeal appends the sealed form of plaintext, bound to the entry field
// named field, to dst and returns the extended slice.
func (s *Sealer) AppendSeal(dst, plaintext []byte, field string) []byte {
	dst = append(dst, Version)
	dst = append(dst, s.prefix[:]...)
	dst = binary.BigEndian.AppendUint64(dst, s.counter.Add(1))
	// The nonce is read from dst's tail; Seal writes only past len(dst).
	nonce := dst[len(dst)-NonceSize:]
	return s.aead.Seal(dst, nonce, plaintext, additionalData(s.id, field))
}

// Seal returns the sealed form of plaintext for field.
func (s *Sealer) Seal(plaintext []byte, field string) []byte {
	return s.AppendSeal(make([]byte, 0, len(plaintext)+Overhead), plaintext, field)
}

// additionalData binds a sealed value to its key id and field name. The
// key id's length comes first, so no two (id, field) pairs share it.
func additionalData(keyID, field string) []byte {
	ad := make([]byte, 0, 2+len(keyID)+len(field))
	ad = append(ad, Version, byte(len(keyID)))
	ad = append(ad, keyID...)
	return append(ad, field...)
}

// open decrypts sealed with aead, appending the plaintext to dst.
func open(aead cipher.AEAD, dst []byte, keyID, field string, sealed []byte) ([]byte, error) {
	if len(sealed) < Overhead {
		return dst, fmt.Errorf("%w: %d bytes, want at least %d", ErrMalformed, len(sealed), Overhead)
	}
	if sealed[0] != Version {
		return dst, fmt.Errorf("%w: format version %d, want %d", ErrMalformed, sealed[0], Version)
	}
	nonce := sealed[1 : 1+NonceSize]
	out, err := aead.Open(dst, nonce, sealed[1+NonceSize:], additionalData(keyID, field))
	if err != nil {
		return dst, fmt.Errorf("%w: field %s, key %s", ErrAuthentication, field, keyID)
	}
	return out, nil
}
