package encryption_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/kafka-redis-connector/kafka-redis-connector/encryption"
)

func newKey(t testing.TB) []byte {
	t.Helper()
	k := make([]byte, encryption.KeySize)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

func keyring(t testing.TB, keys map[string][]byte) *encryption.Keyring {
	t.Helper()
	k := encryption.NewKeyring()
	for id, key := range keys {
		if err := k.Add(id, key); err != nil {
			t.Fatal(err)
		}
	}
	return k
}

func TestRoundTrip(t *testing.T) {
	key := newKey(t)
	s, err := encryption.NewSealer("k1", key)
	if err != nil {
		t.Fatal(err)
	}
	ring := keyring(t, map[string][]byte{"k1": key})
	for _, plain := range [][]byte{nil, {}, []byte("x"), []byte("p=1;seq=2;payload"), bytes.Repeat([]byte{0, 0xff}, 5000)} {
		sealed := s.Seal(plain, "value")
		if got, want := len(sealed), len(plain)+encryption.Overhead; got != want {
			t.Errorf("got %d sealed bytes, want %d", got, want)
		}
		if len(plain) > 4 && bytes.Contains(sealed, plain) {
			t.Errorf("sealed value holds the plaintext")
		}
		got, err := ring.Open("k1", "value", sealed)
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		if !bytes.Equal(got, plain) {
			t.Errorf("got %q, want %q", got, plain)
		}
	}
}

func TestAppendSealKeepsPrefix(t *testing.T) {
	key := newKey(t)
	s, _ := encryption.NewSealer("k1", key)
	out := s.AppendSeal([]byte("prefix"), []byte("hello"), "f")
	if !bytes.HasPrefix(out, []byte("prefix")) {
		t.Fatalf("got %q, want it to start with the destination's bytes", out)
	}
	got, err := keyring(t, map[string][]byte{"k1": key}).Open("k1", "f", out[len("prefix"):])
	if err != nil || string(got) != "hello" {
		t.Errorf("got %q, %v, want hello, nil", got, err)
	}
}

func TestOpenRejects(t *testing.T) {
	key, other := newKey(t), newKey(t)
	s, _ := encryption.NewSealer("k1", key)
	sealed := s.Seal([]byte("secret payload"), "value")
	tests := []struct {
		name   string
		ring   map[string][]byte
		keyID  string
		field  string
		sealed []byte
		want   error
	}{
		{"wrong key under the right id", map[string][]byte{"k1": other}, "k1", "value", sealed, encryption.ErrAuthentication},
		{"unknown key id", map[string][]byte{"k1": key}, "k2", "value", sealed, encryption.ErrUnknownKey},
		{"other key id, same key bytes", map[string][]byte{"k1": key, "k9": key}, "k9", "value", sealed, encryption.ErrAuthentication},
		{"moved to another field", map[string][]byte{"k1": key}, "k1", "h.token", sealed, encryption.ErrAuthentication},
		{"truncated", map[string][]byte{"k1": key}, "k1", "value", sealed[:encryption.Overhead-1], encryption.ErrMalformed},
		{"empty", map[string][]byte{"k1": key}, "k1", "value", nil, encryption.ErrMalformed},
		{"unknown version", map[string][]byte{"k1": key}, "k1", "value", append([]byte{2}, sealed[1:]...), encryption.ErrMalformed},
		{"plaintext", map[string][]byte{"k1": key}, "k1", "value", []byte("p=0;seq=1;xxxxxxxxxxxxxxxxxxxxxxxxxxxx"), encryption.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := keyring(t, tt.ring).Open(tt.keyID, tt.field, tt.sealed)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %q, %v, want error %v", got, err, tt.want)
			}
			if strings.Contains(err.Error(), "secret payload") {
				t.Errorf("error %q holds the plaintext", err)
			}
		})
	}
}

func TestTamperedCiphertext(t *testing.T) {
	key := newKey(t)
	s, _ := encryption.NewSealer("k1", key)
	ring := keyring(t, map[string][]byte{"k1": key})
	sealed := s.Seal([]byte("amount=100"), "value")
	for i := range sealed {
		for _, bit := range []byte{0x01, 0x80} {
			bad := bytes.Clone(sealed)
			bad[i] ^= bit
			if got, err := ring.Open("k1", "value", bad); err == nil {
				t.Fatalf("byte %d ^ %#x: got %q, nil, want an error", i, bit, got)
			}
		}
	}
	if _, err := ring.Open("k1", "value", append(bytes.Clone(sealed), 0)); !errors.Is(err, encryption.ErrAuthentication) {
		t.Errorf("appended byte: got %v, want ErrAuthentication", err)
	}
}

// TestRotation: entries sealed with an old key still open after the writer
// moved to a new key, as long as readers keep both.
func TestRotation(t *testing.T) {
	oldKey, newKeyB := newKey(t), newKey(t)
	oldSealer, _ := encryption.NewSealer("2025-01", oldKey)
	newSealer, _ := encryption.NewSealer("2025-07", newKeyB)
	fields := encryption.EntryFields{KeyID: "enc_key_id", Sealed: []string{"value", "h.token"}}
	entry := func(s *encryption.Sealer, v string) map[string]any {
		return map[string]any{
			"value":      string(s.Seal([]byte(v), "value")),
			"h.token":    string(s.Seal([]byte("tok-"+v), "h.token")),
			"enc_key_id": s.KeyID(),
			"offset":     "7",
		}
	}
	before, after := entry(oldSealer, "before"), entry(newSealer, "after")

	both := keyring(t, map[string][]byte{"2025-01": oldKey, "2025-07": newKeyB})
	for _, tc := range []struct {
		e    map[string]any
		want string
	}{{before, "before"}, {after, "after"}} {
		e := map[string]any{}
		for k, v := range tc.e {
			e[k] = v
		}
		if err := both.OpenEntry(e, fields); err != nil {
			t.Fatalf("%s: %v", tc.want, err)
		}
		if e["value"] != tc.want || e["h.token"] != "tok-"+tc.want || e["offset"] != "7" {
			t.Errorf("got %v, want value %s", e, tc.want)
		}
	}

	onlyNew := keyring(t, map[string][]byte{"2025-07": newKeyB})
	e := map[string]any{}
	for k, v := range before {
		e[k] = v
	}
	if err := onlyNew.OpenEntry(e, fields); !errors.Is(err, encryption.ErrUnknownKey) {
		t.Errorf("old entry without the old key: got %v, want ErrUnknownKey", err)
	}
	if e["value"] != before["value"] {
		t.Errorf("a failed OpenEntry changed the entry")
	}
}

func TestOpenEntryWithoutKeyID(t *testing.T) {
	ring := keyring(t, map[string][]byte{"k": newKey(t)})
	err := ring.OpenEntry(map[string]any{"value": "plain"}, encryption.EntryFields{KeyID: "enc_key_id", Sealed: []string{"value"}})
	if !errors.Is(err, encryption.ErrNoKeyID) {
		t.Errorf("got %v, want ErrNoKeyID", err)
	}
}

func TestNoncesDoNotRepeat(t *testing.T) {
	s, _ := encryption.NewSealer("k", newKey(t))
	var mu sync.Mutex
	seen := map[string]bool{}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 2000 {
				n := string(s.Seal(nil, "v")[1 : 1+encryption.NonceSize])
				mu.Lock()
				if seen[n] {
					t.Errorf("nonce %x repeated", n)
				}
				seen[n] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

func TestReadKeyFile(t *testing.T) {
	key := newKey(t)
	dir := t.TempDir()
	tests := []struct {
		name    string
		content []byte
		ok      bool
	}{
		{"raw", key, true},
		{"hex with newline", []byte(hex.EncodeToString(key) + "\n"), true},
		{"base64", []byte(base64.StdEncoding.EncodeToString(key) + "\n"), true},
		{"base64 url unpadded", []byte(base64.RawURLEncoding.EncodeToString(key)), true},
		{"short", key[:16], false},
		{"32 printable characters", []byte("0123456789abcdef0123456789abcdef"), false},
		{"hex of 16 bytes", []byte(hex.EncodeToString(key[:16])), false},
		{"empty", nil, false},
		{"passphrase", []byte("correct horse battery staple\n"), false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, "key"+string(rune('a'+i)))
			if err := os.WriteFile(path, tt.content, 0o400); err != nil {
				t.Fatal(err)
			}
			got, err := encryption.ReadKeyFile(path)
			if !tt.ok {
				if !errors.Is(err, encryption.ErrBadKey) {
					t.Fatalf("got %v, want ErrBadKey", err)
				}
				if len(tt.content) > 0 && strings.Contains(err.Error(), strings.TrimSpace(string(tt.content))) {
					t.Errorf("error %q holds the key material", err)
				}
				return
			}
			if err != nil || !bytes.Equal(got, key) {
				t.Errorf("got %x, %v, want the key", got, err)
			}
		})
	}
	if _, err := encryption.ReadKeyFile(filepath.Join(dir, "missing")); !errors.Is(err, encryption.ErrBadKey) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: got %v, want ErrBadKey wrapping ErrNotExist", err)
	}
}

func TestLoadKeyring(t *testing.T) {
	dir := t.TempDir()
	k1 := filepath.Join(dir, "k1")
	if err := os.WriteFile(k1, []byte(hex.EncodeToString(newKey(t))), 0o400); err != nil {
		t.Fatal(err)
	}
	ring, err := encryption.LoadKeyring([]string{"old=" + k1, "new=" + k1})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(ring.IDs(), ","); got != "new,old" {
		t.Errorf("got ids %s, want new,old", got)
	}
	for _, specs := range [][]string{{"k1"}, {"=" + k1}, {"bad id=" + k1}, {"k="}, {"k=" + k1, "k=" + k1}, {"k=" + filepath.Join(dir, "nope")}} {
		if _, err := encryption.LoadKeyring(specs); !errors.Is(err, encryption.ErrBadKey) {
			t.Errorf("%q: got %v, want ErrBadKey", specs, err)
		}
	}
	if _, err := ring.Sealer("missing"); !errors.Is(err, encryption.ErrUnknownKey) {
		t.Errorf("got %v, want ErrUnknownKey", err)
	}
}

func BenchmarkSeal(b *testing.B) {
	for _, size := range []int{100, 1024, 16 << 10} {
		b.Run(strconv.Itoa(size)+"B", func(b *testing.B) {
			s, _ := encryption.NewSealer("k1", newKey(b))
			plain := bytes.Repeat([]byte("x"), size)
			dst := make([]byte, 0, size+encryption.Overhead)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				dst = s.AppendSeal(dst[:0], plain, "value")
			}
		})
	}
}

func BenchmarkOpen(b *testing.B) {
	key := newKey(b)
	s, _ := encryption.NewSealer("k1", key)
	ring := keyring(b, map[string][]byte{"k1": key})
	sealed := s.Seal(bytes.Repeat([]byte("x"), 1024), "value")
	dst := make([]byte, 0, 1024)
	b.SetBytes(1024)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if dst, err = ring.AppendOpen(dst[:0], "k1", "value", sealed); err != nil {
			b.Fatal(err)
		}
	}
}
