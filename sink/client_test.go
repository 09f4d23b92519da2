package sink

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
)

// fakeClusterNode is a scripted Redis Cluster node that owns every slot (or
// redirects, as its script says). It records each XADD it receives, with
// the connection it came on, and answers it with script(xadd number).
type fakeClusterNode struct {
	ln     net.Listener
	script func(n int, asking bool) string
	// multi, if set, answers MULTI number n (else +OK).
	multi func(n int) string

	mu     sync.Mutex
	xadds  []string // the value field of each XADD received, in order
	multis int      // MULTIs received
}

func newFakeClusterNode(t *testing.T, script func(n int, asking bool) string) *fakeClusterNode {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeClusterNode{ln: ln, script: script}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go f.serve(conn)
		}
	}()
	return f
}

func (f *fakeClusterNode) addr() string { return f.ln.Addr().String() }

func (f *fakeClusterNode) received() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.xadds...)
}

func (f *fakeClusterNode) serve(conn net.Conn) {
	defer conn.Close()
	r := bufio.NewReader(conn)
	host, port, _ := net.SplitHostPort(f.addr())
	asking := false
	var queued []string // replies of the commands of an open MULTI; nil: none open
	for {
		args, err := readCommand(r)
		if err != nil {
			return
		}
		var reply string
		switch name := strings.ToLower(args[0]); {
		case name == "multi":
			f.mu.Lock()
			n := f.multis
			f.multis++
			f.mu.Unlock()
			queued, reply = []string{}, "+OK\r\n"
			if f.multi != nil {
				reply = f.multi(n)
			}
		case name == "exec":
			reply = fmt.Sprintf("*%d\r\n%s", len(queued), strings.Join(queued, ""))
			for _, q := range queued {
				if strings.HasPrefix(q, "-") {
					reply = "-EXECABORT Transaction discarded because of previous errors.\r\n"
				}
			}
			queued = nil
		case queued != nil && name == "xadd":
			// Recorded when queued; its scripted reply, if an error, is
			// the queueing reply and aborts the transaction at EXEC.
			f.mu.Lock()
			n := len(f.xadds)
			f.xadds = append(f.xadds, args[len(args)-1])
			f.mu.Unlock()
			q := f.script(n, asking)
			if strings.HasPrefix(q, "-") {
				reply = q
			} else {
				reply = "+QUEUED\r\n"
			}
			queued = append(queued, q)
		default:
			reply = f.serveOne(args, host, port, &asking)
		}
		if reply == "" { // cut the connection, the command unanswered
			return
		}
		if _, err := conn.Write([]byte(reply)); err != nil {
			return
		}
	}
}

// serveOne answers a command outside MULTI.
func (f *fakeClusterNode) serveOne(args []string, host, port string, asking *bool) string {
	var reply string
	switch strings.ToLower(args[0]) {
	case "hello":
		reply = "-ERR unknown command 'HELLO'\r\n"
	case "cluster":
		reply = fmt.Sprintf("*1\r\n*3\r\n:0\r\n:16383\r\n*3\r\n$%d\r\n%s\r\n:%s\r\n$4\r\nnode\r\n", len(host), host, port)
	case "command":
		reply = "*0\r\n"
	case "ping":
		reply = "+PONG\r\n"
	case "asking":
		*asking = true
		reply = "+OK\r\n"
	case "xadd":
		f.mu.Lock()
		n := len(f.xadds)
		f.xadds = append(f.xadds, args[len(args)-1])
		f.mu.Unlock()
		reply = f.script(n, *asking)
		*asking = false
	default:
		reply = "+OK\r\n"
	}
	return reply
}

// readCommand reads one command: an array of bulk strings.
func readCommand(r *bufio.Reader) ([]string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	if len(line) < 3 || line[0] != '*' {
		return nil, fmt.Errorf("not an array: %q", line)
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
		buf := make([]byte, size+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		args[i] = string(buf[:size])
	}
	return args, nil
}

const xaddOK = "$3\r\n1-0\r\n"

// clusterPipeline sends XADDs of values 0..n-1 to stream "s" in one pipeline
// of a cluster client built by NewClient, and returns each command's error.
func clusterPipeline(t *testing.T, seed string, n int) []error {
	t.Helper()
	cfg := config.Default().Redis
	cfg.Mode, cfg.Addrs = "cluster", []string{seed}
	cfg.DialTimeout, cfg.ReadTimeout, cfg.WriteTimeout = time.Second, 2*time.Second, 2*time.Second
	rdb, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pipe := rdb.Pipeline()
	cmds := make([]*redis.StringCmd, n)
	for i := range cmds {
		cmds[i] = pipe.XAdd(ctx, &redis.XAddArgs{Stream: "s", Values: []any{"v", strconv.Itoa(i)}})
	}
	_, _ = pipe.Exec(ctx)
	errs := make([]error, n)
	for i, cmd := range cmds {
		errs[i] = cmd.Err()
	}
	return errs
}

// A cluster client sends each XADD of a pipeline once: a connection cut or
// a retryable reply is the connector's to retry (its policy, breaker and
// metrics see it), never go-redis's. MOVED and ASK are followed: the node
// that answers them has not applied the command.
func TestClusterClientSendsEachCommandOnce(t *testing.T) {
	tests := []struct {
		name   string
		script func(n int, asking bool) string
		// wantSent is what the node receives; wantErr which commands fail.
		wantSent []string
		wantErr  []bool
	}{
		{
			name: "connection cut before the replies",
			script: func(n int, _ bool) string {
				if n == 2 {
					return ""
				}
				return xaddOK
			},
			wantSent: []string{"0", "1", "2"},
			wantErr:  []bool{false, false, true},
		},
		{
			name: "first reply LOADING, the others applied",
			script: func(n int, _ bool) string {
				if n == 0 {
					return "-LOADING Redis is loading the dataset in memory\r\n"
				}
				return xaddOK
			},
			wantSent: []string{"0", "1", "2"},
			wantErr:  []bool{true, false, false},
		},
		{
			name: "first reply CLUSTERDOWN",
			script: func(n int, _ bool) string {
				if n == 0 {
					return "-CLUSTERDOWN The cluster is down\r\n"
				}
				return xaddOK
			},
			wantSent: []string{"0", "1", "2"},
			wantErr:  []bool{true, false, false},
		},
		{
			name: "first reply READONLY",
			script: func(n int, _ bool) string {
				if n == 0 {
					return "-READONLY You can't write against a read only replica.\r\n"
				}
				return xaddOK
			},
			wantSent: []string{"0", "1", "2"},
			wantErr:  []bool{true, false, false},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			node := newFakeClusterNode(t, tt.script)
			errs := clusterPipeline(t, node.addr(), 3)
			if got := node.received(); strings.Join(got, ",") != strings.Join(tt.wantSent, ",") {
				t.Errorf("node received XADDs %v, want %v (each once, in order)", got, tt.wantSent)
			}
			for i, err := range errs {
				if (err != nil) != tt.wantErr[i] {
					t.Errorf("command %d: got error %v, want error %v", i, err, tt.wantErr[i])
				}
			}
		})
	}
}

func TestClusterClientFollowsRedirects(t *testing.T) {
	tests := []struct {
		name     string
		redirect string // "MOVED" or "ASK"
	}{
		{"MOVED", "MOVED"},
		{"ASK", "ASK"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := newFakeClusterNode(t, func(_ int, asking bool) string {
				if tt.redirect == "ASK" && !asking {
					return "-ERR ASKING missing\r\n"
				}
				return xaddOK
			})
			source := newFakeClusterNode(t, func(int, bool) string {
				return fmt.Sprintf("-%s 7365 %s\r\n", tt.redirect, target.addr())
			})
			errs := clusterPipeline(t, source.addr(), 3)
			for i, err := range errs {
				if err != nil {
					t.Errorf("command %d: got error %v, want none (redirect followed)", i, err)
				}
			}
			if got := strings.Join(target.received(), ","); got != "0,1,2" {
				t.Errorf("target received XADDs %s, want 0,1,2", got)
			}
		})
	}
}

func (f *fakeClusterNode) multisReceived() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.multis
}

// clusterTx sends XADDs of values 0..n-1 to stream "s" in one MULTI/EXEC of a
// cluster client built by NewClient, and returns each command's error.
func clusterTx(t *testing.T, seed string, n int) []error {
	t.Helper()
	cfg := config.Default().Redis
	cfg.Mode, cfg.Addrs = "cluster", []string{seed}
	cfg.DialTimeout, cfg.ReadTimeout, cfg.WriteTimeout = time.Second, 2*time.Second, 2*time.Second
	rdb, err := NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pipe := rdb.TxPipeline()
	cmds := make([]*redis.StringCmd, n)
	for i := range cmds {
		cmds[i] = pipe.XAdd(ctx, &redis.XAddArgs{Stream: "s", Values: []any{"v", strconv.Itoa(i)}})
	}
	_, _ = pipe.Exec(ctx)
	errs := make([]error, n)
	for i, cmd := range cmds {
		errs[i] = cmd.Err()
	}
	return errs
}

// MULTI/EXEC (one transaction per batch) through a cluster client: a
// transaction the server refused before queueing is the connector's to
// retry, and a MOVED while queueing is followed.
func TestClusterClientTransactions(t *testing.T) {
	t.Run("MULTI answered LOADING is not re-sent", func(t *testing.T) {
		node := newFakeClusterNode(t, func(int, bool) string { return xaddOK })
		node.multi = func(n int) string {
			if n == 0 {
				return "-LOADING Redis is loading the dataset in memory\r\n"
			}
			return "+OK\r\n"
		}
		errs := clusterTx(t, node.addr(), 3)
		if got := node.multisReceived(); got != 1 {
			t.Errorf("node received %d MULTIs, want 1 (no re-send by go-redis)", got)
		}
		for i, err := range errs {
			if err == nil {
				t.Errorf("command %d: got no error, want the LOADING failure", i)
			}
		}
	})
	t.Run("MOVED while queueing is followed", func(t *testing.T) {
		target := newFakeClusterNode(t, func(int, bool) string { return xaddOK })
		source := newFakeClusterNode(t, func(int, bool) string {
			return fmt.Sprintf("-MOVED 7365 %s\r\n", target.addr())
		})
		errs := clusterTx(t, source.addr(), 3)
		for i, err := range errs {
			if err != nil {
				t.Errorf("command %d: got error %v, want none (MOVED followed)", i, err)
			}
		}
		if got := strings.Join(target.received(), ","); got != "0,1,2" {
			t.Errorf("target received XADDs %s, want 0,1,2", got)
		}
	})
}

func TestDirectForServesOnlyStandaloneClients(t *testing.T) {
	tests := []struct {
		name   string
		client redis.Cmdable
		want   bool
	}{
		{"standalone", redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}), true},
		{"unix socket", redis.NewClient(&redis.Options{Network: "unix", Addr: "/tmp/redis.sock"}), true},
		{"sentinel", redis.NewFailoverClient(&redis.FailoverOptions{MasterName: "m",
			SentinelAddrs: []string{"127.0.0.1:1"}}), false},
		{"cluster", redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"127.0.0.1:1"}}), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer tt.client.(io.Closer).Close()
			p := directFor(tt.client)
			if got := p != nil; got != tt.want {
				t.Errorf("direct transport: got %v, want %v", got, tt.want)
			}
			if p != nil {
				p.close()
			}
		})
	}
}
