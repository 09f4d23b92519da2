package connector_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestPeakRSSWithLargeRecords builds the binary and runs it, with default
// settings, against an in-process Kafka holding 300 records of 1 MiB and a
// Redis behind a proxy passing 30 MB/s per connection (Redis slower than
// Kafka, so the connector buffers as much as it lets itself), and checks
// its peak RSS (VmHWM) stays within 256 MiB. Opt-in, it takes ~20 s:
//
//	RSS_TEST=1 go test -run TestPeakRSSWithLargeRecords -v ./connector/
func TestPeakRSSWithLargeRecords(t *testing.T) {
	if os.Getenv("RSS_TEST") == "" {
		t.Skip("set RSS_TEST=1 to measure the binary's peak RSS")
	}
	const records, size, limitKiB = 300, 1 << 20, 256 << 10
	bin := t.TempDir() + "/kafka-redis-connector"
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/kafka-redis-connector").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(4, testTopic),
		kfake.BrokerConfigs(map[string]string{"message.max.bytes": "4194304"}))
	if err != nil {
		t.Fatalf("kfake: %v", err)
	}
	defer cluster.Close()
	mr := miniredis.RunT(t)
	prod, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...), kgo.DefaultProduceTopic(testTopic),
		kgo.ProducerBatchMaxBytes(4<<20), kgo.ProducerBatchCompression(kgo.NoCompression()))
	if err != nil {
		t.Fatalf("producer: %v", err)
	}
	rng := rand.NewChaCha8([32]byte{1})
	for i := 0; i < records; i++ {
		v := make([]byte, size)
		_, _ = rng.Read(v)
		if err := prod.ProduceSync(context.Background(), &kgo.Record{Value: v}).FirstErr(); err != nil {
			t.Fatalf("produce: %v", err)
		}
	}
	prod.Close()

	cmd := exec.Command(bin, "run")
	var environ []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KRC_") { // unknown KRC_ variables are errors
			environ = append(environ, kv)
		}
	}
	cmd.Env = append(environ,
		"KRC_KAFKA_BROKERS="+strings.Join(cluster.ListenAddrs(), ","),
		"KRC_REDIS_ADDRS="+slowProxy(t, mr.Addr(), 30<<20),
		"KRC_HTTP_LISTEN=",
		"KRC_STREAM_MAX_ENTRY_BYTES=2097152",
		"KRC_LOG_LEVEL=warn",
	)
	cmd.Stderr = newTestWriter(t)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() { _ = cmd.Process.Kill(); <-exited }()
	for {
		es, _ := mr.Stream(testTopic)
		if len(es) >= records {
			break
		}
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("the connector exited (%v) with %d of %d entries written", err, len(es), records)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Since(start) > 3*time.Minute {
			t.Fatalf("after 3m: got %d entries, want %d", len(es), records)
		}
	}
	peak := vmHWMKiB(t, cmd.Process.Pid)
	t.Logf("drained %d x %d bytes in %s; peak RSS %d KiB", records, size, time.Since(start).Round(time.Millisecond), peak)
	_ = cmd.Process.Signal(syscall.SIGTERM)
	if peak > limitKiB {
		t.Errorf("peak RSS: got %d KiB, want at most %d KiB", peak, limitKiB)
	}
}

func vmHWMKiB(t *testing.T, pid int) int {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			if err != nil {
				t.Fatalf("VmHWM %q: %v", v, err)
			}
			return n
		}
	}
	t.Fatal("no VmHWM")
	return 0
}

// slowProxy forwards to addr, passing at most rate bytes/s towards it per
// connection.
func slowProxy(t *testing.T, addr string, rate int) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				s, err := net.Dial("tcp", addr)
				if err != nil {
					return
				}
				defer s.Close()
				go func() { _, _ = io.Copy(c, s) }()
				buf := make([]byte, 64<<10)
				for {
					n, err := c.Read(buf)
					if n > 0 {
						if _, werr := s.Write(buf[:n]); werr != nil {
							return
						}
						time.Sleep(time.Duration(n) * time.Second / time.Duration(rate))
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}
