package sink_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
	"github.com/kafka-redis-connector/kafka-redis-connector/sink"
)

// txRedis is a scripted Redis that keeps streams and implements MULTI/EXEC
// as Redis does: a command rejected while queued (reject returns its error
// reply) makes EXEC fail with EXECABORT and nothing of the transaction is
// applied; a command failing while EXEC runs (fail returns its error reply)
// fails alone and the others are applied. Outside a transaction a rejected
// or failing command fails alone, as in a plain pipeline. Every XADD is
// "xadd KEY * value V"; HELLO is unknown (as in Redis 5) and anything else
// gets +OK.
type txRedis struct {
	ln      net.Listener
	reject  func(key, value string) string
	fail    func(key, value string) string
	mu      sync.Mutex
	streams map[string][]string // the values, in stream order
}

func newTxRedis(t *testing.T, reject, fail func(key, value string) string) *txRedis {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	none := func(string, string) string { return "" }
	s := &txRedis{ln: ln, reject: cmpFunc(reject, none), fail: cmpFunc(fail, none), streams: map[string][]string{}}
	var wg sync.WaitGroup
	t.Cleanup(func() { _ = ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { s.serve(conn) })
		}
	})
	return s
}

func cmpFunc(f, g func(string, string) string) func(string, string) string {
	if f != nil {
		return f
	}
	return g
}

// client returns a go-redis client of the server, as sink.NewClient builds
// them (no retries of its own).
func (s *txRedis) client(t *testing.T) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: s.ln.Addr().String(), Protocol: 2, DisableIdentity: true,
		MaxRetries: -1, DialerRetries: 1, ReadTimeout: 5 * time.Second})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

func (s *txRedis) stream(key string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.streams[key])
}

// apply runs one XADD and returns its reply.
func (s *txRedis) apply(key, value string) string {
	if e := s.fail(key, value); e != "" {
		return "-" + e + "\r\n"
	}
	s.streams[key] = append(s.streams[key], value)
	id := fmt.Sprintf("%d-0", len(s.streams[key]))
	return fmt.Sprintf("$%d\r\n%s\r\n", len(id), id)
}

func (s *txRedis) serve(conn net.Conn) {
	defer conn.Close()
	r := bufio.NewReader(conn)
	inMulti, dirty := false, false
	var queued [][2]string
	for {
		args, err := readCommand(r)
		if err != nil {
			return
		}
		var reply string
		s.mu.Lock()
		switch name := strings.ToLower(args[0]); {
		case name == "multi" && inMulti:
			reply = "-ERR MULTI calls can not be nested\r\n"
		case name == "multi":
			inMulti, dirty, queued = true, false, nil
			reply = "+OK\r\n"
		case name == "exec" && !inMulti:
			reply = "-ERR EXEC without MULTI\r\n"
		case name == "exec" && dirty:
			inMulti = false
			reply = "-EXECABORT Transaction discarded because of previous errors.\r\n"
		case name == "exec":
			inMulti = false
			reply = "*" + strconv.Itoa(len(queued)) + "\r\n"
			for _, q := range queued {
				reply += s.apply(q[0], q[1])
			}
		case name == "xadd" && len(args) == 5:
			key, value := args[1], args[4]
			switch e := s.reject(key, value); {
			case e != "":
				dirty = dirty || inMulti
				reply = "-" + e + "\r\n"
			case inMulti:
				queued = append(queued, [2]string{key, value})
				reply = "+QUEUED\r\n"
			default:
				reply = s.apply(key, value)
			}
		case name == "xadd":
			reply = "-ERR this fake takes only xadd KEY * value V\r\n"
		case name == "hello": // as Redis 5 does: go-redis falls back to RESP2
			reply = "-ERR unknown command 'hello'\r\n"
		default:
			reply = "+OK\r\n"
		}
		s.mu.Unlock()
		if _, err := io.WriteString(conn, reply); err != nil {
			return
		}
	}
}

// readCommand reads one RESP command: an array of bulk strings.
func readCommand(r *bufio.Reader) ([]string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	if len(line) < 4 || line[0] != '*' {
		return nil, fmt.Errorf("not a command: %q", line)
	}
	n, err := strconv.Atoi(strings.TrimSpace(line[1:]))
	if err != nil {
		return nil, err
	}
	args := make([]string, n)
	for i := range args {
		if line, err = r.ReadString('\n'); err != nil {
			return nil, err
		}
		size, err := strconv.Atoi(strings.TrimSpace(line[1:]))
		if err != nil {
			return nil, err
		}
		b := make([]byte, size+2)
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, err
		}
		args[i] = string(b[:size])
	}
	return args, nil
}

// writeUntilDone writes recs the way the connector's retry does: again
// and again, each time the records not yet written and not failed
// permanently, in order. It returns the first attempt's result and error.
func writeUntilDone(t *testing.T, w *sink.Writer, recs []*kgo.Record) (sink.Result, error) {
	t.Helper()
	var first sink.Result
	var firstErr error
	pending := recs
	for attempt := 0; len(pending) > 0; attempt++ {
		if attempt == 3 {
			t.Fatalf("after 3 attempts %d records are still not written", len(pending))
		}
		res, err := w.Write(context.Background(), pending)
		if attempt == 0 {
			first, firstErr = res, err
		}
		var next []*kgo.Record
		for i, e := range res.Errs {
			if sink.Retryable(e) || errors.Is(e, context.Canceled) {
				next = append(next, pending[i])
			}
		}
		pending = next
	}
	return first, firstErr
}

// A retryable reply to record 2 of a partition while records 3..5 of the
// same round trip succeed must not leave Redis with 2 after them once it is
// retried: the stream's order stays the partition's order.
func TestWriterRetryKeepsPartitionOrder(t *testing.T) {
	replies := []string{
		"BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.",
		"OOM command not allowed when used memory > 'maxmemory'.",
		"MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk.",
		"LOADING Redis is loading the dataset in memory",
	}
	for _, reply := range replies {
		forTransports(t, reply, func(t *testing.T, opts ...sink.WriterOption) {
			var once sync.Once
			srv := newTxRedis(t, func(_, value string) string {
				var e string
				if value == "a2" {
					once.Do(func() { e = reply })
				}
				return e
			}, nil)
			w := newWriter(t, srv.client(t), func(c *config.Stream) { c.Key, c.KeyField, c.Metadata = "{topic}", "", nil }, opts...)
			// Partition a of stream a, interleaved with stream b.
			recs := []*kgo.Record{rec("a", 0, 1, "", "a1"), rec("b", 0, 1, "", "b1"), rec("a", 0, 2, "", "a2"),
				rec("a", 0, 3, "", "a3"), rec("b", 0, 2, "", "b2"), rec("a", 0, 4, "", "a4"), rec("a", 0, 5, "", "a5")}
			_, err := writeUntilDone(t, w, recs)
			if !sink.Retryable(err) {
				t.Errorf("first Write: got error %v, want a retryable one", err)
			}
			for key, want := range map[string][]string{"a": {"a1", "a2", "a3", "a4", "a5"}, "b": {"b1", "b2"}} {
				if got := srv.stream(key); !slices.Equal(got, want) {
					t.Errorf("stream %s: got %q, want %q (the partition's order)", key, got, want)
				}
			}
		})
	}
}

// WRONGTYPE while the transaction runs is the record's own failure: the
// others are applied, in order, and only that record is reported.
func TestWriterRuntimeRejectionFailsOnlyItsRecord(t *testing.T) {
	forTransports(t, "", func(t *testing.T, opts ...sink.WriterOption) {
		srv := newTxRedis(t, nil, func(_, value string) string {
			if value == "2" {
				return "WRONGTYPE Operation against a key holding the wrong kind of value"
			}
			return ""
		})
		w := newWriter(t, srv.client(t), func(c *config.Stream) { c.Key, c.KeyField, c.Metadata = "s", "", nil }, opts...)
		var recs []*kgo.Record
		for i := range 5 {
			recs = append(recs, rec("t", 0, int64(i+1), "", strconv.Itoa(i+1)))
		}
		res, err := w.Write(context.Background(), recs)
		if err != nil {
			t.Errorf("Write: got error %v, want nil", err)
		}
		for i, e := range res.Errs {
			switch {
			case i == 1 && (!errors.Is(e, sink.ErrRejected) || sink.Retryable(e)):
				t.Errorf("record %d: got %v, want a permanent ErrRejected", i, e)
			case i != 1 && e != nil:
				t.Errorf("record %d: got %v, want nil", i, e)
			}
		}
		if got, want := srv.stream("s"), []string{"1", "3", "4", "5"}; !slices.Equal(got, want) {
			t.Errorf("stream s: got %q, want %q", got, want)
		}
	})
}

// On a cluster a transaction cannot span hash slots: each slot's records
// go in their own, and all of a batch's streams are written, in order.
func TestWriterClusterTransactionPerSlot(t *testing.T) {
	m := miniredis.RunT(t) // answers CLUSTER SLOTS as the owner of every slot
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{m.Addr()}, MaxRetries: -1, Protocol: 2})
	t.Cleanup(func() { _ = rdb.Close() })
	w := newWriter(t, rdb, func(c *config.Stream) { c.Key, c.KeyField, c.Metadata = "{topic}", "", nil })
	var recs []*kgo.Record
	for i := range 9 {
		topic := []string{"foo", "bar", "hello"}[i%3] // slots 12182, 5061, 866
		recs = append(recs, rec(topic, 0, int64(i), "", strconv.Itoa(i)))
	}
	res, err := w.Write(context.Background(), recs)
	if err != nil || res.Written() != len(recs) {
		t.Fatalf("Write: got %d written, error %v (%v); want %d, nil", res.Written(), err, res.Errs, len(recs))
	}
	for i, key := range []string{"foo", "bar", "hello"} {
		want := [][]string{{"value", strconv.Itoa(i)}, {"value", strconv.Itoa(i + 3)}, {"value", strconv.Itoa(i + 6)}}
		if got := entries(t, m, key); !equalEntries(got, want) {
			t.Errorf("stream %s: got %q, want %q", key, got, want)
		}
	}
}
