package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
	"github.com/kafka-redis-connector/kafka-redis-connector/connector"
	"github.com/kafka-redis-connector/kafka-redis-connector/httpapi"
	"github.com/kafka-redis-connector/kafka-redis-connector/internal/preflight"
	"github.com/kafka-redis-connector/kafka-redis-connector/internal/schemaregistry"
	"github.com/kafka-redis-connector/kafka-redis-connector/sink"
)

var errHelp = errors.New("help requested")

// parseFlags parses a command's flags; problems are usage errors.
func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return usageError{errHelp}
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	return nil
}

// loadConfig loads and validates the configuration and checks the files
// it names; every problem is a usage error (exit 2), reported before
// anything connects.
func loadConfig(file string) (config.Config, error) {
	cfg, err := config.Load(file, os.Environ())
	if err = errors.Join(err, cfg.CheckFiles()); err != nil {
		return cfg, usageError{err}
	}
	return cfg, nil
}

// configFromFlags parses the --config flag of command name and loads the
// configuration it names.
func configFromFlags(name string, args []string, stderr io.Writer) (config.Config, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	file := fs.String("config", "", "YAML config `file` (default: defaults + KRC_* environment)")
	if err := parseFlags(fs, args, stderr); err != nil {
		return config.Config{}, err
	}
	return loadConfig(*file)
}

func cmdValidate(args []string, stdout, stderr io.Writer) error {
	cfg, err := configFromFlags("validate", args, stderr)
	if err != nil {
		return err
	}
	out, err := cfg.Redacted().YAML()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "# effective configuration (secrets redacted)\n%s", out)
	return nil
}

func newLogger(cfg config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Level))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// goRedisLogger routes go-redis's log lines into slog.
type goRedisLogger struct{ log *slog.Logger }

func (l goRedisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.DebugContext(ctx, fmt.Sprintf(format, v...))
}

func cmdRun(args []string, _, stderr io.Writer) error {
	cfg, err := configFromFlags("run", args, stderr)
	if err != nil {
		return err
	}
	log := newLogger(cfg.Log, stderr)
	// go-redis logs through a process-wide logger; without this its plain
	// text lines would break a JSON log stream. Its dial failures repeat
	// what the connector's flush and breaker lines already say: debug.
	redis.SetLogger(goRedisLogger{log.With("component", "go-redis")})
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	ctx, force, stop := stopOnSignals(sigs, log)
	defer stop()
	return runConnector(ctx, cfg, log, nil, connector.WithForceStop(force))
}

// stopOnSignals returns a context the first signal on sigs cancels (a
// graceful shutdown, bounded by shutdown_timeout) and a channel the second
// closes (stop at once; the connector says what it left uncommitted). stop
// ends the watch and waits for it.
func stopOnSignals(sigs <-chan os.Signal, log *slog.Logger) (ctx context.Context, force <-chan struct{}, stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	forced := make(chan struct{})
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		select {
		case sig := <-sigs:
			log.Info("signal received; shutting down (a second signal stops at once)", "signal", sig.String())
			cancel()
		case <-quit:
			return
		}
		select {
		case sig := <-sigs:
			log.Warn("second signal received; stopping at once", "signal", sig.String())
			close(forced)
		case <-quit:
		}
	})
	return ctx, forced, func() {
		close(quit)
		wg.Wait()
		cancel()
	}
}

// runConnector wires the Redis client, sink, connector and HTTP server, and
// runs until ctx ends. onStart, if set, receives the connector once built.
// Extra options go to the connector.
func runConnector(ctx context.Context, cfg config.Config, log *slog.Logger, onStart func(*connector.Connector), extra ...connector.Option) error {
	if cfg.Kafka.TLS.InsecureSkipVerify || cfg.Redis.TLS.InsecureSkipVerify {
		log.Warn("TLS certificate verification is disabled (insecure_skip_verify): connections can be intercepted")
	}
	rdb, err := sink.NewClient(cfg.Redis)
	if err != nil {
		return err
	}
	defer rdb.Close()
	wopts, err := encryptionOpts(cfg.Encryption)
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	if cfg.Stream.UsesSchemaRegistry() {
		sreg, err := schemaregistry.New(cfg.SchemaRegistry, schemaregistry.WithRegisterer(reg))
		if err != nil {
			return err
		}
		wopts = append(wopts, sink.WithSchemaRegistry(sreg))
	}
	w, err := sink.NewWriter(rdb, cfg.Stream, wopts...)
	if err != nil {
		return usageError{err}
	}
	defer w.Close()
	kopts, err := connector.SecurityOpts(cfg.Kafka)
	if err != nil {
		return err
	}
	if err := preflight.Check(ctx, cfg, rdb, kopts, log); err != nil {
		return err
	}
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	opts := append([]connector.Option{
		connector.WithLogger(log),
		connector.WithRegisterer(reg),
		connector.WithKafkaOpts(kopts...),
		connector.WithKafkaOpts(connector.KafkaMetrics(reg)...),
	}, extra...)
	c := connector.New(cfg, w, opts...)
	if onStart != nil {
		onStart(c)
	}
	redacted, _ := cfg.Redacted().YAML()
	log.Info("starting kafka-redis-connector", "version", version,
		"config", strings.TrimSpace(string(redacted)))

	if cfg.HTTP.Listen != "" {
		srv, err := serveHTTP(cfg.HTTP.Listen, c, rdb, reg, log)
		if err != nil {
			return err
		}
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
		}()
	}
	return c.Run(ctx)
}

func serveHTTP(addr string, c *connector.Connector, rdb redis.UniversalClient, reg *prometheus.Registry, log *slog.Logger) (*http.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("http.listen %s: %w", addr, err)
	}
	ping := func(ctx context.Context) error { return rdb.Ping(ctx).Err() }
	srv := &http.Server{Handler: httpapi.NewHandler(c, ping, reg), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server stopped", "error", err)
		}
	}()
	log.Info("http endpoints listening", "addr", ln.Addr().String(), "paths", "/metrics /healthz /readyz /stats")
	return srv, nil
}
