package sink

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
)

// FuzzReadReply: the reply reader never panics on what a server (or
// something pretending to be one) sends, and an error reply is exactly the
// text of a "-" line.
func FuzzReadReply(f *testing.F) {
	for _, seed := range []string{
		"$15\r\n1700000000000-0\r\n", "+OK\r\n", "-WRONGTYPE x\r\n", ":1\r\n", "$-1\r\n", "*-1\r\n",
		"*2\r\n$1\r\na\r\n:2\r\n", "$3\r\nab\r\n", "$99999999999999999999\r\n", "*3\r\n", "-\r\n", "\r\n", "",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bufio.NewReaderSize(bytes.NewReader(in), 16)
		reply, ioErr := readReply(r, 0)
		if ioErr != nil {
			if reply != nil {
				t.Fatalf("got both a reply error %v and a connection error %v", reply, ioErr)
			}
			if !Retryable(ioErr) {
				t.Fatalf("connection error %v is not retryable", ioErr)
			}
			return
		}
		if reply != nil {
			var re replyError
			line, _, _ := bytes.Cut(in, []byte("\r\n"))
			if !errors.As(reply, &re) || in[0] != '-' || string(re) != string(line[1:]) {
				t.Fatalf("reply error %q from %q", reply, in)
			}
		}
		rest, _ := io.ReadAll(r)
		if !bytes.HasSuffix(in, rest) {
			t.Fatalf("left %q unread, not a suffix of %q", rest, in)
		}
	})
}

// FuzzAppendArgs: what the writer encodes, the reply reader reads back as
// one array, whatever bytes the arguments hold.
func FuzzAppendArgs(f *testing.F) {
	f.Add("xadd", []byte("v\r\n$3\r\n"), "k")
	f.Add("", []byte{}, "\r\n")
	f.Fuzz(func(t *testing.T, a string, b []byte, c string) {
		enc, err := appendArgs(nil, []any{a, b, c})
		if err != nil {
			t.Fatal(err)
		}
		enc = append(enc, "+NEXT\r\n"...)
		r := bufio.NewReader(bytes.NewReader(enc))
		if reply, ioErr := readReply(r, 0); reply != nil || ioErr != nil {
			t.Fatalf("reading %q back: %v, %v", enc, reply, ioErr)
		}
		if rest, _ := io.ReadAll(r); string(rest) != "+NEXT\r\n" {
			t.Fatalf("left %q, want the next reply", rest)
		}
	})
}

// FuzzDirectEncoding: the direct transport's XADD for a record is byte for
// byte what encoding the generic arguments (AppendFields, the go-redis
// path) gives, for every field layout, sealed or not, and both reject the
// same entries as too large.
func FuzzDirectEncoding(f *testing.F) {
	f.Add([]byte("v"), []byte("k"), "h1", []byte("x"), "token", []byte("secret"), uint8(0xff), uint16(0))
	f.Add([]byte{}, []byte(nil), "", []byte(nil), "", []byte{}, uint8(0), uint16(3))
	f.Add(bytes.Repeat([]byte{0}, 300), []byte{}, "token", []byte{1}, "a", []byte("\r\n"), uint8(0x35), uint16(200))
	f.Fuzz(func(t *testing.T, value, recKey []byte, h1 string, v1 []byte, h2 string, v2 []byte, flags uint8, maxEntry uint16) {
		cfg := config.Default().Stream
		cfg.Key = "s:{partition}"
		if flags&1 == 0 {
			cfg.KeyField = ""
		}
		if flags&2 != 0 {
			cfg.HeadersPrefix = "h."
		}
		all := []string{"topic", "partition", "offset", "timestamp"}
		cfg.Metadata = nil
		for i, name := range all {
			if flags&(4<<i) != 0 {
				cfg.Metadata = append(cfg.Metadata, name)
			}
		}
		if flags&64 != 0 {
			cfg.MaxLen, cfg.ApproxTrim = 1000, flags&128 != 0
		}
		cfg.MaxEntryBytes = int(maxEntry)
		if len(value) == 0 && maxEntry%2 == 1 {
			value, cfg.Tombstones = nil, "entry" // a tombstone's marker entry
		}
		var opts []WriterOption
		if flags&128 != 0 {
			// Real sealing is randomized (a fresh nonce); both encodings
			// must seal the same way, so the sealer repeats itself.
			opts = append(opts, WithSealer(fixedSealer{}, "enc_key_id", []string{"token"}))
		}
		w, err := NewWriter(nil, cfg, opts...)
		if err != nil {
			t.Fatal(err)
		}
		rec := &kgo.Record{Topic: "orders", Partition: 3, Offset: 1 << 40, Key: recKey, Value: value,
			Timestamp: time.UnixMilli(1700000000123), Headers: []kgo.RecordHeader{{Key: h1, Value: v1}, {Key: h2, Value: v2}}}
		var sc writeScratch
		sc.trim = w.args.AppendTrim(nil, time.UnixMilli(1700000000123))
		args := []any{"xadd", "s:3"}
		for _, a := range sc.trim {
			args = append(args, a)
		}
		args = append(args, "*")
		args, _, errArgs := w.mapping.AppendFields(args, nil, rec)
		errDirect := w.encodeXADD(&sc, "s:3", nil, rec)
		if (errArgs == nil) != (errDirect == nil) {
			t.Fatalf("generic path: %v; direct path: %v", errArgs, errDirect)
		}
		if errArgs != nil {
			if len(sc.out) != 0 {
				t.Fatalf("a rejected entry left %q in the buffer", sc.out)
			}
			return
		}
		want, err := appendArgs(nil, args)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(sc.out, want) {
			t.Fatalf("direct encoding\n%q\ndiffers from the generic one\n%q", sc.out, want)
		}
	})
}

// fixedSealer "seals" by prefixing the field name: deterministic, and it
// changes the length, as a real seal does.
type fixedSealer struct{}

func (fixedSealer) KeyID() string { return "k1" }

func (fixedSealer) AppendSeal(dst, plaintext []byte, field string) []byte {
	return append(append(append(dst, field...), ':'), plaintext...)
}

// FuzzReadFastPaths: readQueued and readBulk, the transaction reader's fast
// paths, read exactly what readReply reads - the same reply, the same
// connection failure or none, the same bytes left - whatever the server
// sends and however much of it is buffered.
func FuzzReadFastPaths(f *testing.F) {
	for _, seed := range []string{
		"+QUEUED\r\n", "+QUEUED\r\n+QUEUED\r\n", "+QUEUE\r\n", "+QUEUED\n", "-OOM x\r\n", "$15\r\n1700000000000-0\r\n",
		"$15\r\n1700000000000-0", "$3\r\nab\r\n", "$-1\r\n", "$0\r\n\r\n", "$\r\n", "$1a\r\nx\r\n", "$999\r\n",
		"$007\r\nabcdefg\r\n", "$1234\r\n", ":1\r\n", "*1\r\n$1\r\na\r\n", "",
	} {
		f.Add([]byte(seed), true)
		f.Add([]byte(seed), false)
	}
	f.Fuzz(func(t *testing.T, in []byte, buffered bool) {
		read := func(fn func(*bufio.Reader) (error, error)) (reply string, failed bool, rest []byte) {
			r := bufio.NewReaderSize(bytes.NewReader(in), 16)
			if buffered {
				_, _ = r.Peek(1) // fills the buffer, as a read from the connection does
			}
			re, ioErr := fn(r)
			if re != nil {
				reply = re.Error()
			}
			rest, _ = io.ReadAll(r)
			return reply, ioErr != nil, rest
		}
		wantReply, wantFailed, wantRest := read(func(r *bufio.Reader) (error, error) { return readReply(r, 0) })
		for name, fast := range map[string]func(*bufio.Reader) (error, error){"readQueued": readQueued, "readBulk": readBulk} {
			reply, failed, rest := read(fast)
			if reply != wantReply || failed != wantFailed || !bytes.Equal(rest, wantRest) {
				t.Errorf("%s(%q): got %q, failed %v, left %q; readReply: %q, failed %v, left %q",
					name, in, reply, failed, rest, wantReply, wantFailed, wantRest)
			}
		}
	})
}
