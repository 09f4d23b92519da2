package sink

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
)

func TestReadReply(t *testing.T) {
	tests := []struct {
		in        string
		wantReply string // "" = not an error reply
		wantIO    error  // errors.Is target; nil = none
		rest      string // what must be left unread
	}{
		{"$15\r\n1700000000000-0\r\nNEXT", "", nil, "NEXT"},
		{"$4\r\na\r\nb\r\n+OK\r\n", "", nil, "+OK\r\n"}, // binary-safe: CRLF inside the bulk
		{"$-1\r\nNEXT", "", nil, "NEXT"},
		{"+OK\r\nNEXT", "", nil, "NEXT"},
		{":42\r\nNEXT", "", nil, "NEXT"},
		{"*2\r\n$1\r\na\r\n*1\r\n:1\r\nNEXT", "", nil, "NEXT"},
		{"-WRONGTYPE Operation against a key holding the wrong kind of value\r\nNEXT", "WRONGTYPE Operation against a key holding the wrong kind of value", nil, "NEXT"},
		{"-ERR " + strings.Repeat("x", 70000) + "\r\n", "ERR " + strings.Repeat("x", 70000), nil, ""},
		{"$x\r\n", "", errProtocol, ""},
		{"?what\r\n", "", errProtocol, ""},
		{"+OK\n", "", errProtocol, ""},
		{"$10\r\nshort", "", io.EOF, ""},
		{"+OK", "", io.EOF, ""},
		{strings.Repeat("*1\r\n", 20) + ":1\r\n", "", errProtocol, ""},
	}
	for _, tt := range tests {
		name := tt.in
		if len(name) > 40 {
			name = name[:40]
		}
		t.Run(name, func(t *testing.T) {
			r := bufio.NewReaderSize(strings.NewReader(tt.in), 16)
			reply, ioErr := readReply(r, 0)
			if tt.wantIO != nil {
				if !errors.Is(ioErr, tt.wantIO) {
					t.Fatalf("got connection error %v, want %v", ioErr, tt.wantIO)
				}
				if !Retryable(ioErr) {
					t.Errorf("Retryable(%v): got false, want true", ioErr)
				}
				return
			}
			if ioErr != nil {
				t.Fatalf("got connection error %v, want nil", ioErr)
			}
			switch {
			case tt.wantReply == "" && reply != nil:
				t.Errorf("got reply error %v, want none", reply)
			case tt.wantReply != "" && (reply == nil || reply.Error() != tt.wantReply):
				t.Errorf("got reply error %v, want %q", reply, tt.wantReply)
			}
			var re redis.Error
			if reply != nil && !errors.As(reply, &re) {
				t.Errorf("reply %v is not a redis.Error", reply)
			}
			if rest, _ := io.ReadAll(r); string(rest) != tt.rest {
				t.Errorf("left %q unread, want %q", rest, tt.rest)
			}
		})
	}
}

func TestAppendArgs(t *testing.T) {
	got, err := appendArgs(nil, []any{"xadd", "s", "*", "value", []byte("a\r\nb"), "empty", []byte{}})
	if err != nil {
		t.Fatal(err)
	}
	want := "*7\r\n$4\r\nxadd\r\n$1\r\ns\r\n$1\r\n*\r\n$5\r\nvalue\r\n$4\r\na\r\nb\r\n$5\r\nempty\r\n$0\r\n\r\n"
	if string(got) != want {
		t.Errorf("got %q, want %q", got, want)
	}
	before := []byte("+earlier\r\n")
	if out, err := appendArgs(before, []any{"xadd", 1.5}); err == nil {
		t.Error("a float64 argument: got nil error, want one")
	} else if string(out) != string(before) {
		t.Errorf("after the error the buffer is %q, want it as it was (%q)", out, before)
	}
}

// fakeRedis accepts connections and answers every command it reads (MULTI,
// each XADD, EXEC) through answer, which returns the reply to send, "" to
// stop answering and close the connection, "hang" to send nothing, or a
// reply ending in closeAfter to send it and then close the connection.
type fakeRedis struct {
	ln    net.Listener
	mu    sync.Mutex
	dials int
}

func newFakeRedis(t *testing.T, answer func(n int) string) *fakeRedis {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeRedis{ln: ln}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		n := 0 // commands answered over all connections
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			f.mu.Lock()
			f.dials++
			f.mu.Unlock()
			r := bufio.NewReader(conn)
			for {
				if err := skipCommand(r); err != nil {
					break
				}
				reply := answer(n)
				n++
				if reply == "" {
					break
				}
				if reply == "hang" {
					continue
				}
				last := strings.HasSuffix(reply, closeAfter)
				if _, err := conn.Write([]byte(strings.TrimSuffix(reply, closeAfter))); err != nil || last {
					break
				}
			}
			_ = conn.Close()
		}
	}()
	return f
}

const closeAfter = "\x00close"

// skipCommand reads one RESP command (an array of bulk strings).
func skipCommand(r *bufio.Reader) error {
	_, err := readReply(r, 0)
	return err
}

// directWriter builds a Writer on a standalone client with opts (never
// retrying by itself) for streams "s" holding only the value, unless edit
// says otherwise, and requires the direct transport.
func directWriter(t *testing.T, opts redis.Options, edit func(*config.Stream)) *Writer {
	t.Helper()
	opts.MaxRetries = -1
	rdb := redis.NewClient(&opts)
	t.Cleanup(func() { _ = rdb.Close() })
	cfg := config.Default().Stream
	cfg.Key, cfg.KeyField, cfg.Metadata = "s", "", nil
	if edit != nil {
		edit(&cfg)
	}
	w, err := NewWriter(rdb, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if w.direct == nil {
		t.Fatal("a standalone client: want the direct transport")
	}
	t.Cleanup(w.Close)
	return w
}

func (f *fakeRedis) writer(t *testing.T) *Writer {
	t.Helper()
	return directWriter(t, redis.Options{Addr: f.ln.Addr().String(), DialerRetries: 1,
		DialTimeout: time.Second, ReadTimeout: 5 * time.Second}, nil)
}

func records(n int) []*kgo.Record {
	recs := make([]*kgo.Record, n)
	for i := range recs {
		recs[i] = &kgo.Record{Topic: "t", Offset: int64(i), Value: []byte(fmt.Sprint(i))}
	}
	return recs
}

// The connection drops after two of EXEC's three replies: the first two
// records are written, the third's fate is unknown and so retryable, and
// the next write uses a new connection.
func TestDirectConnectionDropsMidReplies(t *testing.T) {
	f := newFakeRedis(t, func(n int) string {
		switch n {
		case 0, 5: // MULTI
			return "+OK\r\n"
		case 4: // the first EXEC
			return "*3\r\n$3\r\n1-0\r\n$3\r\n1-1\r\n" + closeAfter
		case 8: // the second
			return "*2\r\n$3\r\n1-2\r\n$3\r\n1-3\r\n"
		}
		return "+QUEUED\r\n"
	})
	w := f.writer(t)
	res, err := w.Write(context.Background(), records(3))
	if err == nil || !Retryable(err) {
		t.Fatalf("Write: got error %v, want a retryable one", err)
	}
	for i, e := range res.Errs {
		if (i < 2) != (e == nil) {
			t.Errorf("record %d: got error %v", i, e)
		}
	}
	if !Retryable(res.Errs[2]) {
		t.Errorf("record 2: got %v, want a retryable error", res.Errs[2])
	}
	res, err = w.Write(context.Background(), records(2))
	if err != nil || res.Written() != 2 {
		t.Fatalf("second Write: got %d written, error %v; want 2, nil", res.Written(), err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dials != 2 {
		t.Errorf("got %d connections, want 2 (the broken one is not reused)", f.dials)
	}
}

// A server that never answers: Write returns when ctx's deadline passes,
// with a retryable error for every record.
func TestDirectDeadline(t *testing.T) {
	f := newFakeRedis(t, func(int) string { return "hang" })
	w := f.writer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	res, err := w.Write(ctx, records(3))
	if elapsed := time.Since(start); elapsed > 3*time.Second {
		t.Errorf("Write took %v, want about the 200ms deadline", elapsed)
	}
	if !errors.Is(err, context.DeadlineExceeded) || !Retryable(err) {
		t.Errorf("Write: got error %v, want a retryable deadline error", err)
	}
	if res.Written() != 0 {
		t.Errorf("Written(): got %d, want 0", res.Written())
	}
}

// A write cancelled before it is sent sends nothing.
func TestDirectCancelBeforeSending(t *testing.T) {
	f := newFakeRedis(t, func(int) string { return "+OK\r\n" })
	w := f.writer(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := w.Write(ctx, records(2)); !errors.Is(err, context.Canceled) {
		t.Errorf("Write: got error %v, want context.Canceled", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dials != 0 {
		t.Errorf("got %d connections, want none", f.dials)
	}
}

// Cancelling interrupts a write blocked on a server that stopped reading.
func TestDirectCancelInterruptsBlockedWrite(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { _ = conn.Close() }) // never read
		}
	}()
	w := directWriter(t, redis.Options{Addr: ln.Addr().String(), WriteTimeout: 30 * time.Second},
		func(c *config.Stream) { c.MaxEntryBytes = 0 })
	recs := records(64)
	for _, r := range recs {
		r.Value = make([]byte, 1<<20) // 64 MiB: more than the socket buffers hold
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	_, err = w.Write(ctx, recs)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Write: got error %v, want context.Canceled", err)
	}
	if elapsed := time.Since(start); elapsed > 10*time.Second {
		t.Errorf("Write returned after %v, want soon after the cancel", elapsed)
	}
}

// A garbled reply drops the connection and fails the records whose
// replies were not read retryably: before EXEC's array, all of them.
func TestDirectProtocolError(t *testing.T) {
	tests := []struct {
		name        string
		bad         int // the command whose reply is garbled
		wantWritten int // records 0..wantWritten-1
		reply       string
	}{
		{"MULTI", 0, 0, "!bogus\r\n"},
		{"queued XADD", 2, 0, "!bogus\r\n"},
		{"EXEC", 4, 0, "!bogus\r\n"},
		{"EXEC of the wrong length", 4, 0, "*2\r\n"},
		{"EXEC's second reply", 4, 1, "*3\r\n$3\r\n1-0\r\n!bogus\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeRedis(t, func(n int) string {
				switch n {
				case tt.bad:
					return tt.reply
				case 0:
					return "+OK\r\n"
				}
				return "+QUEUED\r\n"
			})
			w := f.writer(t)
			res, err := w.Write(context.Background(), records(3))
			if !errors.Is(err, errProtocol) || !Retryable(err) {
				t.Errorf("Write: got error %v, want a retryable protocol error", err)
			}
			for i, e := range res.Errs {
				if written := i < tt.wantWritten; written != (e == nil) || (e != nil && !Retryable(e)) {
					t.Errorf("record %d: got error %v, want written %v, else a retryable error", i, e, written)
				}
			}
		})
	}
}

// The direct transport authenticates as the client's ACL user and writes
// to the client's DB. A wrong password (revoked after start-up; the
// start-up check catches it before) fails the whole write retryably: no
// record is at fault, so none goes to errors.policy.
func TestDirectAuthAndDB(t *testing.T) {
	m := miniredis.RunT(t)
	m.RequireUserAuth("connector", "s3cret")
	for _, tt := range []struct {
		name, password string
		wantWritten    int
	}{{"right password", "s3cret", 3}, {"wrong password", "nope", 0}} {
		t.Run(tt.name, func(t *testing.T) {
			w := directWriter(t, redis.Options{Addr: m.Addr(), Username: "connector", Password: tt.password, DB: 3}, nil)
			res, err := w.Write(context.Background(), records(3))
			if res.Written() != tt.wantWritten {
				t.Fatalf("Written(): got %d, want %d (errors %v, %v)", res.Written(), tt.wantWritten, err, res.Errs)
			}
			if tt.wantWritten == 0 {
				for i, e := range res.Errs {
					if !Retryable(e) || errors.Is(e, ErrRejected) || !strings.Contains(e.Error(), "WRONGPASS") {
						t.Errorf("record %d: got %v; want a retryable WRONGPASS error", i, e)
					}
				}
				if !Retryable(err) {
					t.Errorf("Write: got %v, want a retryable error", err)
				}
				return
			}
			m.Select(3)
			es, err := m.Stream("s")
			m.Select(0)
			if err != nil || len(es) != 3 {
				t.Errorf("DB 3 stream s: got %d entries (%v), want 3", len(es), err)
			}
		})
	}
}

// Lanes write concurrently through one Writer; every record lands once.
func TestDirectConcurrentWrites(t *testing.T) {
	m := miniredis.RunT(t)
	w := directWriter(t, redis.Options{Addr: m.Addr(), PoolSize: 2},
		func(c *config.Stream) { c.Key, c.Metadata = "s:{partition}", []string{"offset"} })
	var wg sync.WaitGroup
	for p := range 4 {
		wg.Go(func() {
			for b := range 20 {
				recs := records(25)
				for i, r := range recs {
					r.Partition, r.Offset = int32(p), int64(b*25+i)
				}
				if res, err := w.Write(context.Background(), recs); err != nil || res.Written() != 25 {
					t.Errorf("partition %d batch %d: got %d written, error %v", p, b, res.Written(), err)
				}
			}
		})
	}
	wg.Wait()
	for p := range 4 {
		es, err := m.Stream(fmt.Sprintf("s:%d", p))
		if err != nil || len(es) != 500 {
			t.Fatalf("partition %d: got %d entries (%v), want 500", p, len(es), err)
		}
		for i, e := range es {
			if want := fmt.Sprint(i); e.Values[3] != want {
				t.Fatalf("partition %d entry %d: offset %s, want %s", p, i, e.Values[3], want)
			}
		}
	}
	if n := len(w.direct.idle); n > 2 {
		t.Errorf("idle connections: got %d, want at most the pool size 2", n)
	}
}

// Redis restarts between two writes: the idle connection it closed is
// noticed before use, so the next write succeeds at its first attempt.
func TestDirectIdleConnectionClosedByServer(t *testing.T) {
	m := miniredis.RunT(t)
	w := directWriter(t, redis.Options{Addr: m.Addr()}, nil)
	if res, err := w.Write(context.Background(), records(2)); err != nil || res.Written() != 2 {
		t.Fatalf("first Write: %d written, %v", res.Written(), err)
	}
	m.Close()
	if err := m.Restart(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // let the close reach the client's socket
	if res, err := w.Write(context.Background(), records(3)); err != nil || res.Written() != 3 {
		t.Fatalf("Write after the restart: got %d written, error %v; want 3, nil", res.Written(), err)
	}
}

// A connection that cannot be set up (here: TLS against a plain server)
// fails the write retryably: nothing was sent and no record is at fault.
func TestDirectConnectFailureIsRetryable(t *testing.T) {
	f := newFakeRedis(t, func(int) string { return "+OK\r\n" })
	w := directWriter(t, redis.Options{Addr: f.ln.Addr().String(), DialerRetries: 1,
		DialTimeout: 2 * time.Second, TLSConfig: &tls.Config{ServerName: "redis.invalid"}}, nil)
	res, err := w.Write(context.Background(), records(2))
	if !errors.Is(err, errConnect) || !Retryable(err) {
		t.Errorf("Write: got %v, want a retryable connect error", err)
	}
	for i, e := range res.Errs {
		if errors.Is(e, ErrRejected) || !Retryable(e) {
			t.Errorf("record %d: got %v, want retryable", i, e)
		}
	}
}

// TestAppendBulkInt holds appendBulkInt to appendBulk of strconv's text,
// on every digit-count boundary and both ends of int64.
func TestAppendBulkInt(t *testing.T) {
	for _, v := range []int64{0, 1, 9, 10, 11, 99, 100, 101, 999, 1000, 99999, 100000, 1700000000123,
		math.MaxInt64, math.MaxInt64 - 1, -1, -10, -1700000000123, math.MinInt64} {
		want := appendBulk([]byte("prefix"), strconv.FormatInt(v, 10))
		got, n := appendBulkInt([]byte("prefix"), v)
		if !bytes.Equal(got, want) || n != len(strconv.FormatInt(v, 10)) {
			t.Errorf("appendBulkInt(%d): got %q (%d), want %q (%d)", v, got, n, want, len(strconv.FormatInt(v, 10)))
		}
	}
}

// TestAppendBulkIntPowersOfTen holds appendBulkInt to strconv on both
// sides of every power of ten an int64 holds, where decimalLen's estimate
// from the bit length is corrected, and on every power of two, where the
// bit length changes.
func TestAppendBulkIntPowersOfTen(t *testing.T) {
	var values []int64
	for p := int64(1); ; p *= 10 {
		values = append(values, p-1, p, p+1)
		if p > math.MaxInt64/10 {
			break
		}
	}
	for s := range 63 {
		p := int64(1) << s
		values = append(values, p-1, p, p+1)
	}
	for _, v := range values {
		text := strconv.FormatInt(v, 10)
		got, n := appendBulkInt(nil, v)
		if want := appendBulk(nil, text); !bytes.Equal(got, want) || n != len(text) {
			t.Errorf("appendBulkInt(%d): got %q (%d), want %q (%d)", v, got, n, want, len(text))
		}
	}
}

// TestParseLength holds parseLength to strconv.Atoi: the same number and
// the same success, on its fast path and off it.
func TestParseLength(t *testing.T) {
	for _, in := range []string{"0", "1", "15", "1000", "007", "-1", "+5", "-0", "", "-", "1a", " 1", "1 ",
		"999999999999999999", "9223372036854775807", "9223372036854775808", "99999999999999999999"} {
		got, gotErr := parseLength([]byte(in))
		want, wantErr := strconv.Atoi(in)
		if got != want || (gotErr == nil) != (wantErr == nil) {
			t.Errorf("parseLength(%q): got %d, %v, want %d, %v", in, got, gotErr, want, wantErr)
		}
	}
}

// TestCachedBulkInt holds the metadata number cache to appendBulkInt
// through runs that repeat, follow each other across every carry into one
// more digit, go back, turn negative and reach both ends of int64.
func TestCachedBulkInt(t *testing.T) {
	values := []int64{0, 0, 1, 2, 2, 9, 10, 11, 98, 99, 100, 101, 99, 100, 1700000000000, 1700000000000, 1700000000001,
		1699999999999, 1700000000000, 999999, 1000000, -1, -1, 0, -5, 5, 6, math.MaxInt64 - 1, math.MaxInt64, math.MinInt64,
		math.MinInt64 + 1, math.MaxInt64, 0}
	for v := int64(9990); v <= 10010; v++ {
		values = append(values, v)
	}
	var c cachedBulkInt
	for i, v := range values {
		want, wantN := appendBulkInt([]byte("prefix"), v)
		got, n := c.appendTo([]byte("prefix"), v)
		if !bytes.Equal(got, want) || n != wantN {
			t.Errorf("value %d (%d after %v): got %q (%d), want %q (%d)", i, v, values[max(i-1, 0)], got, n, want, wantN)
		}
	}
}
