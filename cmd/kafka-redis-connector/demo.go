package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
	"github.com/kafka-redis-connector/kafka-redis-connector/connector"
	"github.com/kafka-redis-connector/kafka-redis-connector/httpapi"
	"github.com/kafka-redis-connector/kafka-redis-connector/internal/redisfault"
)

const (
	demoTopic      = "events"
	demoPartitions = 4
)

func cmdDemo(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	rate := fs.Int("rate", 1000, "events per `second` the demo producer sends")
	duration := fs.Duration("duration", 15*time.Second, "how long to produce before draining and printing the summary (0: until Ctrl-C)")
	redisAddr := fs.String("redis-addr", "", "write to this Redis `host:port` instead of an in-process one")
	httpAddr := fs.String("http", ":8080", "serve /metrics, /stats, /healthz, /readyz on this `address` (empty: off)")
	verbose := fs.Bool("v", false, "show the connector's log lines")
	guarantee := fs.String("guarantee", config.Default().Delivery.Guarantee, "delivery.guarantee: at_least_once or exactly_once")
	outage := fs.String("outage", "", "make the in-process Redis fail after AFTER for FOR, as `AFTER:FOR` (e.g. 5s:10s)")
	format := fs.String("format", "raw", "what the producer sends: raw (JSON text, stored as is) or avro (Confluent wire format, decoded through an in-process schema registry)")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	// The live line, the outage and the breaker events print from
	// different goroutines.
	stdout = &lockedWriter{w: stdout}
	if *rate <= 0 {
		return usageError{fmt.Errorf("--rate must be positive, got %d", *rate)}
	}
	outageAfter, outageFor, err := parseOutage(*outage)
	if err != nil {
		return usageError{err}
	}
	if *format != "raw" && *format != "avro" {
		return usageError{fmt.Errorf("--format must be raw or avro, got %q", *format)}
	}
	if *outage != "" && *redisAddr != "" {
		return usageError{errors.New("--outage needs the in-process Redis; drop --redis-addr")}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(demoPartitions, demoTopic))
	if err != nil {
		return fmt.Errorf("start in-process kafka: %w", err)
	}
	defer cluster.Close()
	addr := *redisAddr
	var mr *miniredis.Miniredis
	if addr == "" {
		if mr, err = miniredis.Run(); err != nil {
			return fmt.Errorf("start in-process redis: %w", err)
		}
		defer mr.Close()
		addr = mr.Addr()
	}
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	if err := rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis at %s: %w", addr, err)
	}
	group := "kafka-redis-connector-demo-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	stream := "demo:" + group + ":{topic}"
	cfg := config.Default()
	cfg.Kafka.Brokers = cluster.ListenAddrs()
	cfg.Kafka.Group = group
	cfg.Kafka.Topics = []string{demoTopic}
	cfg.Redis.Addrs = []string{addr}
	cfg.Stream.Key = stream
	cfg.HTTP.Listen = *httpAddr
	if *httpAddr != "" {
		// The endpoints are a bonus in the demo: a busy port must not stop it.
		if ln, err := net.Listen("tcp", *httpAddr); err != nil {
			fmt.Fprintf(stdout, "demo: %s is not free (%v); running without /stats and /metrics (try --http :8081)\n", *httpAddr, err)
			cfg.HTTP.Listen = ""
		} else {
			_ = ln.Close()
		}
	}
	cfg.ShutdownTimeout = 10 * time.Second
	var avroReg *demoRegistry
	if *format == "avro" {
		if avroReg, err = startDemoRegistry(); err != nil {
			return err
		}
		defer avroReg.fake.Close()
		cfg.Stream.Format, cfg.SchemaRegistry.URL = "avro", avroReg.fake.URL()
	}
	cfg.Delivery.Guarantee = *guarantee
	if outageFor > 0 {
		// A short recovery so the breaker's whole cycle fits in the demo.
		cfg.CircuitBreaker.Recovery = 2 * time.Second
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	var log *slog.Logger
	if *verbose {
		log = slog.New(slog.NewTextHandler(stderr, nil))
	} else {
		log = slog.New(breakerEvents{out: stdout, start: time.Now()})
	}

	fmt.Fprintf(stdout, "demo: in-process Kafka %v, topic %q with %d partitions; Redis %s, stream %q\n",
		cluster.ListenAddrs(), demoTopic, demoPartitions, addr, "demo:"+group+":"+demoTopic)
	batches := fmt.Sprintf("batches of up to %d events", cfg.Batch.MaxEvents)
	if cfg.Batch.MaxEvents == 0 {
		batches = fmt.Sprintf("batches of %d to %d events (adaptive)", connector.AdaptiveMinEvents, connector.AdaptiveMaxEvents)
	}
	fmt.Fprintf(stdout, "demo: producing %d events/s for %s; %s, a record waits %s at most; delivery %s; Ctrl-C ends early\n",
		*rate, durationText(*duration), batches, cfg.Batch.Timeout, cfg.Delivery.Guarantee)
	if cfg.HTTP.Listen != "" {
		fmt.Fprintf(stdout, "demo: stats at http://localhost%s/stats, metrics at /metrics\n", cfg.HTTP.Listen)
	}

	// The connector runs until the producer is done and everything is written.
	connCtx, stopConn := context.WithCancel(context.Background())
	defer stopConn()
	var conn atomic.Pointer[connector.Connector]
	connDone := make(chan error, 1)
	go func() {
		connDone <- runConnector(connCtx, cfg, log, func(c *connector.Connector) { conn.Store(c) })
	}()

	if outageFor > 0 {
		fmt.Fprintf(stdout, "demo: Redis will fail after %s for %s (breaker opens after %d failed attempts, probes every %s)\n",
			outageAfter, outageFor, cfg.CircuitBreaker.FailureThreshold, cfg.CircuitBreaker.Recovery)
		go injectOutage(ctx, mr, outageAfter, outageFor, stdout)
	}
	prod := &demoProducer{rate: *rate}
	if avroReg != nil {
		prod.encode = avroReg.encode
	}
	prodCtx, stopProd := context.WithCancel(ctx)
	defer stopProd()
	if *duration > 0 {
		prodCtx, stopProd = context.WithTimeout(ctx, *duration)
		defer stopProd()
	}
	var wg sync.WaitGroup
	wg.Add(1)
	prodErr := make(chan error, 1)
	go func() {
		defer wg.Done()
		prodErr <- prod.run(prodCtx, cluster.ListenAddrs())
	}()

	live := time.NewTicker(time.Second)
	defer live.Stop()
	start := time.Now()
	var prev connector.Snapshot
	printLive := func() {
		c := conn.Load()
		if c == nil {
			return
		}
		cur := c.Snapshot()
		if prev.At.IsZero() {
			prev.At = start
		}
		st := httpapi.StatsFrom(prev, cur)
		prev = cur
		fmt.Fprintf(stdout, "%5.0fs  produced=%-7d written=%-7d events/s=%-6.0f batching=%3.0f%% of %-4d in_flight=%d  breaker=%-9s latency p50=%.1fms p95=%.1fms p99=%.1fms  lag=%d\n",
			time.Since(start).Seconds(), prod.acked.Load(), cur.Written, st.Throughput.EventsPerSecond,
			st.Batching.Efficiency, cur.MaxEvents, cur.MaxInFlight, st.CircuitBreaker.State, st.Latency.P50Ms, st.Latency.P95Ms, st.Latency.P99Ms,
			prod.acked.Load()-int64(cur.Written))
	}
producing:
	for {
		select {
		case <-live.C:
			printLive()
		case err := <-prodErr:
			if err != nil {
				stopConn()
				<-connDone
				return err
			}
			break producing
		case err := <-connDone:
			stopProd()
			wg.Wait()
			if err == nil {
				err = errors.New("connector stopped early")
			}
			return err
		}
	}
	wg.Wait()

	// Drain: let the connector write and commit what was produced.
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if c := conn.Load(); c != nil && int64(c.Snapshot().Written) >= prod.acked.Load() {
			break
		}
		select {
		case <-live.C:
			printLive()
		case <-time.After(50 * time.Millisecond):
		}
	}
	printLive()
	stopConn()
	connErr := <-connDone

	sum, err := verifyStreams(context.Background(), rdb, "demo:"+group+":"+demoTopic, prod.offsets())
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "summary: produced=%d written=%d lost=%d duplicated=%d out_of_order=%d produce_errors=%d\n",
		prod.acked.Load(), sum.entries, sum.lost, sum.duplicated, sum.outOfOrder, prod.errors.Load())
	if avroReg != nil {
		avroReg.printSample(context.Background(), stdout, rdb, "demo:"+group+":"+demoTopic)
	}
	if connErr != nil {
		return fmt.Errorf("connector: %w", connErr)
	}
	if sum.lost > 0 || sum.outOfOrder > 0 {
		return fmt.Errorf("%d records lost, %d out of order", sum.lost, sum.outOfOrder)
	}
	return nil
}

func parseOutage(s string) (after, dur time.Duration, err error) {
	if s == "" {
		return 0, 0, nil
	}
	a, f, ok := strings.Cut(s, ":")
	if ok {
		after, err = time.ParseDuration(a)
		if err == nil {
			dur, err = time.ParseDuration(f)
		}
	}
	if !ok || err != nil || after < 0 || dur <= 0 {
		return 0, 0, fmt.Errorf("--outage %q: want AFTER:FOR durations, e.g. 5s:10s", s)
	}
	return after, dur, nil
}

// injectOutage makes the in-process Redis answer every command with an
// error for a while, as a Redis that is loading its dataset does: whole
// transactions at a time, as Redis refuses them (redisfault.Outage).
func injectOutage(ctx context.Context, mr *miniredis.Miniredis, after, dur time.Duration, out io.Writer) {
	outage := redisfault.New(mr)
	select {
	case <-ctx.Done():
		return
	case <-time.After(after):
	}
	outage.Down("LOADING demo outage: Redis is loading the dataset in memory")
	fmt.Fprintf(out, "demo: Redis outage begins (%s)\n", dur)
	select {
	case <-ctx.Done():
	case <-time.After(dur):
	}
	outage.Up()
	fmt.Fprintln(out, "demo: Redis outage ends")
}

// breakerEvents is a log handler that prints only the breaker's transitions
// and the fetch pause/resume, as demo lines.
type breakerEvents struct {
	out   io.Writer
	start time.Time
}

func (breakerEvents) Enabled(context.Context, slog.Level) bool { return true }
func (h breakerEvents) WithAttrs([]slog.Attr) slog.Handler     { return h }
func (h breakerEvents) WithGroup(string) slog.Handler          { return h }
func (h breakerEvents) Handle(_ context.Context, r slog.Record) error {
	switch {
	case r.Message == "circuit breaker state changed":
		var from, to string
		r.Attrs(func(a slog.Attr) bool {
			switch a.Key {
			case "from":
				from = a.Value.String()
			case "to":
				to = a.Value.String()
			}
			return true
		})
		fmt.Fprintf(h.out, "%5.0fs  breaker: %s -> %s\n", time.Since(h.start).Seconds(), from, to)
	case strings.HasPrefix(r.Message, "redis writes succeed again"):
		fmt.Fprintf(h.out, "%5.0fs  %s\n", time.Since(h.start).Seconds(), r.Message)
	}
	return nil
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func durationText(d time.Duration) string {
	if d == 0 {
		return "until Ctrl-C"
	}
	return d.String()
}
