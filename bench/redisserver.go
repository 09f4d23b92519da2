package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisServer is a private redis-server this process started on a free
// loopback port, without persistence, for one bench run.
type RedisServer struct {
	// Addr is where it listens (host:port).
	Addr   string
	cmd    *exec.Cmd
	dir    string
	log    *tailWriter
	exited chan struct{}
}

// StartRedisServer starts the redis-server executable (a path, or a name
// looked up on PATH) on a free loopback port and waits until it answers.
// Stop it with Stop.
func StartRedisServer(ctx context.Context, executable string) (*RedisServer, error) {
	path, err := exec.LookPath(executable)
	if err != nil {
		return nil, fmt.Errorf("%w: %q not found (install redis-server, e.g. the Debian package redis-server, or pass --redis-addr): %v",
			ErrNoRedisServer, executable, err)
	}
	for attempt := 0; ; attempt++ {
		s, err := startRedisServer(ctx, path)
		// A port found free can be taken before redis-server binds it.
		if err == nil || attempt == 2 || ctx.Err() != nil {
			return s, err
		}
	}
}

func startRedisServer(ctx context.Context, path string) (*RedisServer, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	port := addr[strings.LastIndexByte(addr, ':')+1:]
	dir, err := os.MkdirTemp("", "krc-bench-redis-")
	if err != nil {
		return nil, fmt.Errorf("bench: redis-server: %w", err)
	}
	s := &RedisServer{Addr: addr, dir: dir, log: &tailWriter{max: 4 << 10}, exited: make(chan struct{})}
	s.cmd = exec.Command(path, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", dir, "--daemonize", "no", "--logfile", "")
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	s.cmd.SysProcAttr = childProcAttr()
	if err := s.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("bench: start redis-server: %w", err)
	}
	go func() {
		_ = s.cmd.Wait()
		close(s.exited)
	}()
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
	defer rdb.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		err := rdb.Ping(pctx).Err()
		cancel()
		if err == nil {
			return s, nil
		}
		select {
		case <-s.exited:
			s.Stop()
			return nil, fmt.Errorf("bench: redis-server on %s exited: %s", addr, strings.TrimSpace(s.log.String()))
		case <-ctx.Done():
			s.Stop()
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, fmt.Errorf("bench: redis-server on %s does not answer: %v", addr, err)
		}
	}
}

// Stop ends the server (SIGTERM, SIGKILL after 10 s), waits for it and
// removes its directory.
func (s *RedisServer) Stop() error {
	defer os.RemoveAll(s.dir)
	select {
	case <-s.exited:
		return nil
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
		return nil
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
		return errors.New("bench: redis-server ignored SIGTERM for 10s and was killed")
	}
}

// Pid is the server's process id.
func (s *RedisServer) Pid() int { return s.cmd.Process.Pid }
