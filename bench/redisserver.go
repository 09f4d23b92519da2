package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
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
	return startRedisServer(ctx, path, pickPort, redisPortAttempts)
}

// redisPortAttempts bounds the ports StartRedisServer tries.
const redisPortAttempts = 5

// errPortTaken says another process bound the port picked for
// redis-server before it could: try another.
var errPortTaken = errors.New("port taken")

// pickPort returns a loopback address no one listened on when it was
// picked. redis-server cannot bind port 0 (it means no TCP) nor be handed a
// listener, so the port is picked here and may be taken before it binds
// it: startRedisServer then sees errPortTaken and picks another.
func pickPort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("bench: redis-server: pick a port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// startRedisServer starts redis-server on an address from pick, another
// one each time the port was taken, attempts times at most.
func startRedisServer(ctx context.Context, path string, pick func() (string, error), attempts int) (*RedisServer, error) {
	var tried []string
	var last error
	for range attempts {
		addr, err := pick()
		if err != nil {
			return nil, err
		}
		s, err := startRedisServerOn(ctx, path, addr)
		if !errors.Is(err, errPortTaken) {
			return s, err
		}
		tried, last = append(tried, addr), err
	}
	return nil, fmt.Errorf("bench: redis-server: another process took each of the %d ports picked for it (%s) before it bound them; the last: %w",
		len(tried), strings.Join(tried, ", "), last)
}

// startRedisServerOn starts redis-server on addr and waits until it
// answers there: it, not another server that holds the port.
func startRedisServerOn(ctx context.Context, path, addr string) (*RedisServer, error) {
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
	// Short timeouts, each try repeated until the deadline: a listener that
	// is not ours may accept and say nothing, and go-redis's handshake
	// does not heed the context.
	const try = 500 * time.Millisecond
	rdb := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: try, ReadTimeout: try, WriteTimeout: try})
	defer rdb.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case <-s.exited:
			s.Stop()
			log := strings.TrimSpace(s.log.String())
			if strings.Contains(log, "Address already in use") {
				return nil, fmt.Errorf("bench: redis-server on %s: %w: %s", addr, errPortTaken, log)
			}
			return nil, fmt.Errorf("bench: redis-server on %s exited: %s", addr, log)
		case <-ctx.Done():
			s.Stop()
			return nil, ctx.Err()
		default:
		}
		pctx, cancel := context.WithTimeout(ctx, try)
		err := rdb.Ping(pctx).Err()
		var pid int
		if err == nil {
			pid, err = serverPid(pctx, rdb)
		}
		cancel()
		if err == nil && pid == s.Pid() {
			return s, nil
		}
		if err == nil {
			s.Stop()
			return nil, fmt.Errorf("bench: redis-server on %s: %w: process %d answers there, not redis-server %d", addr, errPortTaken, pid, s.Pid())
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, fmt.Errorf("bench: redis-server on %s does not answer: %v", addr, err)
		}
		select {
		case <-ctx.Done():
		case <-s.exited:
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// serverPid is the process id the server at rdb reports (INFO server);
// -1 if it reports none.
func serverPid(ctx context.Context, rdb *redis.Client) (int, error) {
	info, err := rdb.Info(ctx, "server").Result()
	if err != nil {
		var rerr redis.Error
		if errors.As(err, &rerr) {
			// It answers, but is no redis-server: not ours.
			return -1, nil
		}
		return 0, err
	}
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "process_id:"); ok {
			if pid, err := strconv.Atoi(v); err == nil {
				return pid, nil
			}
		}
	}
	return -1, nil
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
