package encryption_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/kafka-redis-connector/kafka-redis-connector/encryption"
)

// fuzzKey is fixed so that seeds sealed with it stay valid in the corpus.
var fuzzKey = bytes.Repeat([]byte{0x5a, 0xc3}, encryption.KeySize/2)

// FuzzOpen feeds arbitrary bytes to Open, the decrypt command's input: it
// must never panic, and what opens must be well-formed and sealed with the
// key and field asked for. (Seeds are sealed with a random nonce in every
// process, so the test cannot list them.)
func FuzzOpen(f *testing.F) {
	s, err := encryption.NewSealer("k1", fuzzKey)
	if err != nil {
		f.Fatal(err)
	}
	for _, plain := range []string{"", "p=0;seq=1;", strings.Repeat("x", 100)} {
		f.Add(s.Seal([]byte(plain), "value"), "k1", "value")
	}
	f.Add([]byte{}, "k1", "value")
	f.Add([]byte{encryption.Version}, "k1", "value")
	f.Add(bytes.Repeat([]byte{1}, encryption.Overhead), "k1", "h.token")
	f.Add([]byte("plain text value"), "k2", "value")
	ring := encryption.NewKeyring()
	if err := ring.Add("k1", fuzzKey); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, sealed []byte, keyID, field string) {
		plain, err := ring.Open(keyID, field, sealed)
		if err != nil {
			if plain != nil {
				t.Errorf("got %q with error %v, want nil", plain, err)
			}
			return
		}
		if keyID != "k1" || field != "value" || sealed[0] != encryption.Version || len(plain) != len(sealed)-encryption.Overhead {
			t.Errorf("opened %x (key %q, field %q) to %q: only values sealed for k1 and field value may open", sealed, keyID, field, plain)
		}
	})
}

// FuzzSealOpen: every plaintext and field name round-trips, and the value
// does not open under another field.
func FuzzSealOpen(f *testing.F) {
	f.Add([]byte("p=3;seq=9;"), "value")
	f.Add([]byte{}, "")
	f.Add([]byte{0, 0xff, 0x80}, "h.\x00token")
	s, err := encryption.NewSealer("k1", fuzzKey)
	if err != nil {
		f.Fatal(err)
	}
	ring := encryption.NewKeyring()
	if err := ring.Add("k1", fuzzKey); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, plain []byte, field string) {
		sealed := s.Seal(plain, field)
		if len(sealed) != len(plain)+encryption.Overhead {
			t.Fatalf("got %d sealed bytes, want %d", len(sealed), len(plain)+encryption.Overhead)
		}
		got, err := ring.Open("k1", field, sealed)
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("got %q, %v, want %q", got, err, plain)
		}
		if _, err := ring.Open("k1", field+"x", sealed); err == nil {
			t.Errorf("opened under field %q, want an authentication error", field+"x")
		}
	})
}

// FuzzParseKey: key material of any shape never panics, yields 32 bytes or
// an error, and errors never quote the material.
func FuzzParseKey(f *testing.F) {
	f.Add([]byte("5ac35ac35ac35ac35ac35ac35ac35ac35ac35ac35ac35ac35ac35ac35ac35ac3\n"))
	f.Add([]byte("WsNaw1rDWsNaw1rDWsNaw1rDWsNaw1rDWsNaw1rDWsM="))
	f.Add(fuzzKey)
	f.Add([]byte("correct horse battery staple"))
	f.Fuzz(func(t *testing.T, b []byte) {
		key, err := encryption.ParseKey(b)
		if err != nil {
			if trimmed := strings.TrimSpace(string(b)); len(trimmed) >= 8 && strings.Contains(err.Error(), trimmed) {
				t.Errorf("error %q quotes the key material", err)
			}
			return
		}
		if len(key) != encryption.KeySize {
			t.Errorf("got a %d-byte key, want %d", len(key), encryption.KeySize)
		}
	})
}

// FuzzOpenEntry: an entry of any shape never panics OpenEntry, and a
// failed OpenEntry leaves it unchanged.
func FuzzOpenEntry(f *testing.F) {
	s, _ := encryption.NewSealer("k1", fuzzKey)
	f.Add("k1", string(s.Seal([]byte("v"), "value")), "x")
	f.Add("", "", "")
	f.Add("k9", "garbage", "\xff")
	ring := encryption.NewKeyring()
	if err := ring.Add("k1", fuzzKey); err != nil {
		f.Fatal(err)
	}
	fields := encryption.EntryFields{KeyID: "enc_key_id", Sealed: []string{"value", "h.t"}}
	f.Fuzz(func(t *testing.T, keyID, value, header string) {
		e := map[string]any{"enc_key_id": keyID, "value": value, "h.t": header}
		if err := ring.OpenEntry(e, fields); err != nil {
			if e["value"] != value || e["h.t"] != header {
				t.Errorf("a failed OpenEntry changed the entry: %v", e)
			}
		}
	})
}
