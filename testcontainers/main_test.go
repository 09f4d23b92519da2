//go:build integration

package testcontainers

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

const howToRun = "start real services with `make services-up`, then run " +
	"`KAFKA_BROKERS=127.0.0.1:9092 REDIS_ADDR=127.0.0.1:6379 make test-integration` " +
	"(or run it where a Docker daemon answers)"

// services is where the suite finds Kafka and Redis.
type services struct {
	brokers   []string
	redisAddr string
	// redisControl is the scripts/services.sh prefix that stops and starts
	// the server at redisAddr ("redis": redis-stop, redis-start).
	redisControl string
	// redisLabel, when set, follows the scenario's name in oracle lines
	// (e.g. "[valkey]" while the core scenarios run against Valkey).
	redisLabel string
	// origin is "env" (KAFKA_BROKERS/REDIS_ADDR) or "docker" (testcontainers).
	origin string
	// unavailable, when set, says why no services are there; tests skip
	// with it, or fail in CI.
	unavailable string
}

var (
	svc services
	// connectorBin is the kafka-redis-connector binary built by TestMain.
	connectorBin string
	// repoRoot is the module root (scripts/services.sh lives there).
	repoRoot string

	summaryMu sync.Mutex
	summary   []string
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	root, err := filepath.Abs("..")
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration:", err)
		return 1
	}
	repoRoot = root

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	stop, err := resolveServices(ctx)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration:", err)
		return 1
	}
	defer stop()

	if svc.unavailable == "" {
		dir, err := os.MkdirTemp("", "krc-it-bin-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "integration:", err)
			return 1
		}
		defer os.RemoveAll(dir)
		if connectorBin, err = buildConnector(dir); err != nil {
			fmt.Fprintln(os.Stderr, "integration:", err)
			return 1
		}
		fmt.Printf("integration: kafka %s, redis %s (%s); connector %s\n",
			strings.Join(svc.brokers, ","), svc.redisAddr, svc.origin, connectorBin)
	}

	code := m.Run()

	summaryMu.Lock()
	if len(summary) > 0 {
		fmt.Println("integration: oracle summary")
		for _, line := range summary {
			fmt.Println("  " + line)
		}
	}
	summaryMu.Unlock()
	return code
}

// resolveServices fills svc from the environment, or from containers when a
// Docker daemon answers. The returned function releases what it started.
func resolveServices(ctx context.Context) (func(), error) {
	brokers, redisAddr := os.Getenv("KAFKA_BROKERS"), os.Getenv("REDIS_ADDR")
	switch {
	case brokers != "" && redisAddr != "":
		svc = services{brokers: splitList(brokers), redisAddr: redisAddr, redisControl: "redis", origin: "env"}
		return func() {}, waitReachable(ctx)
	case brokers != "" || redisAddr != "":
		return nil, errors.New("set both KAFKA_BROKERS and REDIS_ADDR, or neither: " + howToRun)
	}
	if why := dockerUnavailable(ctx); why != "" {
		svc.unavailable = "no KAFKA_BROKERS/REDIS_ADDR and no Docker (" + why + "): " + howToRun
		return func() {}, nil
	}
	stop, err := startContainers(ctx)
	if err != nil {
		return nil, fmt.Errorf("start containers: %w", err)
	}
	svc.origin = "docker"
	if err := waitReachable(ctx); err != nil {
		stop()
		return nil, err
	}
	return stop, nil
}

// waitReachable waits until Kafka answers a metadata request and Redis a PING.
func waitReachable(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(svc.brokers...))
	if err != nil {
		return fmt.Errorf("kafka client: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	rdb := redis.NewClient(&redis.Options{Addr: svc.redisAddr})
	defer rdb.Close()
	for {
		_, kerr := adm.ListBrokers(ctx)
		rerr := rdb.Ping(ctx).Err()
		if kerr == nil && rerr == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("services not reachable (kafka %v: %v; redis %s: %v): %s",
				svc.brokers, kerr, svc.redisAddr, rerr, howToRun)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// buildConnector builds the connector binary once for the whole run.
func buildConnector(dir string) (string, error) {
	bin := filepath.Join(dir, "kafka-redis-connector")
	goTool := os.Getenv("GO")
	if goTool == "" {
		goTool = "go"
	}
	cmd := exec.Command(goTool, "build", "-o", bin, "./cmd/kafka-redis-connector")
	cmd.Dir = repoRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/kafka-redis-connector: %w\n%s", err, out)
	}
	return bin, nil
}

// needServices skips the test when no services are available; in CI
// (CI=true) that is a failure, because CI must not pass by skipping.
func needServices(t *testing.T) {
	t.Helper()
	if svc.unavailable == "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true but the integration suite cannot run: %s", svc.unavailable)
	}
	t.Skip(svc.unavailable)
}

// needServiceControl skips a scenario that stops and starts the shared
// broker or redis-server unless KRCDEV_IT_CONTROL_SERVICES=1 allows it.
func needServiceControl(t *testing.T) {
	t.Helper()
	needServices(t)
	if os.Getenv("KRCDEV_IT_CONTROL_SERVICES") != "1" {
		t.Skip("stops and restarts the shared services through scripts/services.sh: " +
			"set KRCDEV_IT_CONTROL_SERVICES=1 to allow it (CI does)")
	}
	if svc.origin != "env" {
		t.Skip("services started by testcontainers are not controlled by scripts/services.sh")
	}
}

// needEndpoint returns the value of the environment variable name, which
// scripts/services.sh's endpoints.env defines (REDIS_CLUSTER_ADDRS, ...; .ci/run
// exports them). Without it the test skips, or fails in CI.
func needEndpoint(t *testing.T, name string) string {
	t.Helper()
	needServices(t)
	if v := os.Getenv(name); v != "" {
		return v
	}
	why := name + " is not set: start the services with `make services-up` and export " +
		"`scripts/services.sh endpoints` (.ci/run does)"
	if os.Getenv("CI") == "true" {
		t.Fatal("CI=true but " + why)
	}
	t.Skip(why)
	return ""
}

func recordSummary(line string) {
	summaryMu.Lock()
	defer summaryMu.Unlock()
	summary = append(summary, line)
}

func splitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
