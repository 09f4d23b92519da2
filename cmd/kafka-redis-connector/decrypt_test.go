package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
	"github.com/kafka-redis-connector/kafka-redis-connector/encryption"
	"github.com/kafka-redis-connector/kafka-redis-connector/sink"
)

// writeKeyFile writes a fresh key, as hex, to dir/name.
func writeKeyFile(t *testing.T, dir, name string) (string, []byte) {
	t.Helper()
	key := make([]byte, encryption.KeySize)
	_, _ = rand.Read(key)
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(hex.EncodeToString(key)+"\n"), 0o400); err != nil {
		t.Fatal(err)
	}
	return path, key
}

func writeText(t *testing.T, path, text string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func runCLI(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

// TestDecryptStream: entries sealed before and after a key rotation, and
// one written before encryption was on, all print in clear with both keys;
// with only the new key the old entry reports an error and the exit is 1.
func TestDecryptStream(t *testing.T) {
	dir := t.TempDir()
	f1, k1 := writeKeyFile(t, dir, "k1")
	f2, k2 := writeKeyFile(t, dir, "k2")
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })

	stream := config.Default().Stream
	stream.HeadersPrefix = "h."
	write := func(opts []sink.WriterOption, offset int64, value string) {
		t.Helper()
		w, err := sink.NewWriter(rdb, stream, opts...)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		r := &kgo.Record{Topic: "orders", Offset: offset, Value: []byte(value),
			Headers: []kgo.RecordHeader{{Key: "token", Value: []byte("tok-" + value)}}}
		if _, err := w.Write(context.Background(), []*kgo.Record{r}); err != nil {
			t.Fatal(err)
		}
	}
	s1, _ := encryption.NewSealer("k1", k1)
	s2, _ := encryption.NewSealer("k2", k2)
	write(nil, 0, "plain")
	write([]sink.WriterOption{sink.WithSealer(s1, "enc_key_id", []string{"token"})}, 1, "old")
	write([]sink.WriterOption{sink.WithSealer(s2, "enc_key_id", []string{"token"})}, 2, "new")

	cfgFile := func(keys ...string) string {
		return writeText(t, filepath.Join(t.TempDir(), "c.yaml"), "redis: {addrs: ['"+mr.Addr()+"']}\n"+
			"stream: {headers_prefix: h.}\n"+
			"encryption: {headers: [token], keys: ['"+strings.Join(keys, "', '")+"']}\n")
	}

	code, out, errOut := runCLI("decrypt", "--config", cfgFile("k1="+f1, "k2="+f2), "--stream", "orders")
	if code != 0 {
		t.Fatalf("got exit %d (%s), want 0", code, errOut)
	}
	var got []decryptedEntry
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var e decryptedEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		got = append(got, e)
	}
	if len(got) != 3 {
		t.Fatalf("got %d entries, want 3:\n%s", len(got), out)
	}
	for i, want := range []struct{ keyID, value string }{{"", "plain"}, {"k1", "old"}, {"k2", "new"}} {
		e := got[i]
		if e.KeyID != want.keyID || e.Fields["value"] != want.value || e.Fields["h.token"] != "tok-"+want.value || e.Error != "" {
			t.Errorf("entry %d: got %+v, want key %q, value %q, token tok-%s", i, e, want.keyID, want.value, want.value)
		}
	}

	code, out, errOut = runCLI("decrypt", "--config", cfgFile("k2="+f2), "--stream", "orders", "--count", "2")
	if code != 1 || !strings.Contains(errOut, "entries that did not decrypt: 1") {
		t.Errorf("without the old key: got exit %d, stderr %q, want 1 and a count of failures", code, errOut)
	}
	if !strings.Contains(out, "unknown key id") || strings.Count(out, "\n") != 2 {
		t.Errorf("without the old key: got\n%s\nwant 2 lines, one naming the unknown key", out)
	}
}

func TestDecryptField(t *testing.T) {
	dir := t.TempDir()
	f1, k1 := writeKeyFile(t, dir, "k1")
	s, _ := encryption.NewSealer("k1", k1)
	sealed := filepath.Join(dir, "sealed")
	if err := os.WriteFile(sealed, s.Seal([]byte("\x00binary\xff"), "value"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI("decrypt", "--key", "k1="+f1, "--field", "value", "--key-id", "k1", "--in", sealed)
	if code != 0 || out != "\x00binary\xff" {
		t.Errorf("got exit %d, %q (%s), want 0 and the plaintext", code, out, errOut)
	}
	code, _, errOut = runCLI("decrypt", "--key", "k1="+f1, "--field", "h.other", "--key-id", "k1", "--in", sealed)
	if code != 1 || !strings.Contains(errOut, "authentication failed") {
		t.Errorf("other field: got exit %d, %q, want 1 and an authentication failure", code, errOut)
	}
}

func TestDecryptUsage(t *testing.T) {
	dir := t.TempDir()
	f1, _ := writeKeyFile(t, dir, "k1")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no mode", []string{"decrypt", "--key", "k1=" + f1}, "exactly one of --stream or --field"},
		{"both modes", []string{"decrypt", "--key", "k1=" + f1, "--stream", "s", "--field", "value"}, "exactly one of"},
		{"field without key id", []string{"decrypt", "--key", "k1=" + f1, "--field", "value"}, "--field needs --key-id"},
		{"no keys", []string{"decrypt", "--stream", "s"}, "no keys"},
		{"bad key spec", []string{"decrypt", "--key", "k1", "--stream", "s"}, "not ID=FILE"},
		{"missing key file", []string{"decrypt", "--key", "k1=" + filepath.Join(dir, "nope"), "--stream", "s"}, "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := runCLI(tc.args...)
			if code != exitUsage || !strings.Contains(errOut, tc.want) {
				t.Errorf("got exit %d, %q, want %d and %q", code, errOut, exitUsage, tc.want)
			}
		})
	}
}
