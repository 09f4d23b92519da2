package encryption

import (
	"crypto/cipher"
	"fmt"
	"slices"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
)

// Keyring holds the keys a reader may need, by id: the current one and the
// older ones entries may still be sealed with. Build it, then use it from
// any number of goroutines.
type Keyring struct {
	keys map[string]cipher.AEAD
	raw  map[string][]byte
}

// NewKeyring returns an empty Keyring.
func NewKeyring() *Keyring {
	return &Keyring{keys: map[string]cipher.AEAD{}, raw: map[string][]byte{}}
}

// LoadKeyring reads every "ID=FILE" spec (see config.ParseKeySpec and
// ReadKeyFile).
func LoadKeyring(specs []string) (*Keyring, error) {
	k := NewKeyring()
	for _, spec := range specs {
		id, file, err := config.ParseKeySpec(spec)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadKey, err)
		}
		key, err := ReadKeyFile(file)
		if err != nil {
			return nil, fmt.Errorf("key %s: %w", id, err)
		}
		if err := k.Add(id, key); err != nil {
			return nil, err
		}
	}
	return k, nil
}

// Add adds a 32-byte key under id. Adding an id twice is an error.
func (k *Keyring) Add(id string, key []byte) error {
	if !ValidKeyID(id) {
		return fmt.Errorf("%w: key id %q must be 1 to 64 letters, digits, '.', '_' or '-'", ErrBadKey, id)
	}
	if _, dup := k.keys[id]; dup {
		return fmt.Errorf("%w: key id %s given twice", ErrBadKey, id)
	}
	aead, err := newAEAD(key)
	if err != nil {
		return fmt.Errorf("key %s: %w", id, err)
	}
	k.keys[id] = aead
	k.raw[id] = slices.Clone(key)
	return nil
}

// IDs returns the key ids in the Keyring, sorted.
func (k *Keyring) IDs() []string {
	ids := make([]string, 0, len(k.keys))
	for id := range k.keys {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Sealer returns a Sealer for the key id, for writers.
func (k *Keyring) Sealer(id string) (*Sealer, error) {
	key, ok := k.raw[id]
	if !ok {
		return nil, fmt.Errorf("%w: %q (have %v)", ErrUnknownKey, id, k.IDs())
	}
	return NewSealer(id, key)
}

// Open decrypts a value sealed with key keyID for the entry field named
// field.
func (k *Keyring) Open(keyID, field string, sealed []byte) ([]byte, error) {
	return k.AppendOpen(nil, keyID, field, sealed)
}

// AppendOpen is Open appending the plaintext to dst.
func (k *Keyring) AppendOpen(dst []byte, keyID, field string, sealed []byte) ([]byte, error) {
	aead, ok := k.keys[keyID]
	if !ok {
		return dst, fmt.Errorf("%w: %q (have %v)", ErrUnknownKey, keyID, k.IDs())
	}
	return open(aead, dst, keyID, field, sealed)
}
