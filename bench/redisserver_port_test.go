package bench

import (
	"context"
	"errors"
	"net"
	"os/exec"
	"strings"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// picker returns the given addresses in turn, then fresh ones.
func picker(addrs ...string) func() (string, error) {
	return func() (string, error) {
		if len(addrs) == 0 {
			return pickPort()
		}
		a := addrs[0]
		addrs = addrs[1:]
		return a, nil
	}
}

// TestStartRedisServerPortTaken hands redis-server ports another process
// holds, as when a port picked free is bound by someone else before
// redis-server binds it.
func TestStartRedisServerPortTaken(t *testing.T) {
	path, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("no redis-server on PATH")
	}
	ctx := context.Background()
	// A server that answers PING on the port, and a listener that accepts
	// connections but says nothing.
	other := miniredis.RunT(t)
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()

	for _, tc := range []struct {
		name  string
		taken string
	}{
		{"by another redis server", other.Addr()},
		{"by a listener", silent.Addr().String()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, err := startRedisServer(ctx, path, picker(tc.taken), 3)
			if err != nil {
				t.Fatalf("start: %v", err)
			}
			defer srv.Stop()
			if srv.Addr == tc.taken {
				t.Fatalf("addr: got %s, the port another process holds; want another", srv.Addr)
			}
			rdb := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1})
			defer rdb.Close()
			if pid, err := serverPid(ctx, rdb); err != nil || pid != srv.Pid() {
				t.Errorf("the server at %s: got process %d (%v), want redis-server %d", srv.Addr, pid, err, srv.Pid())
			}
		})
	}
	t.Run("every port taken", func(t *testing.T) {
		a := silent.Addr().String()
		srv, err := startRedisServer(ctx, path, picker(a, a, a), 3)
		if err == nil {
			srv.Stop()
			t.Fatalf("got a server on %s, want an error", srv.Addr)
		}
		if !errors.Is(err, errPortTaken) || !strings.Contains(err.Error(), a) || !strings.Contains(err.Error(), "Address already in use") {
			t.Errorf("got %v, want errPortTaken naming %s and redis-server's log", err, a)
		}
	})
}
