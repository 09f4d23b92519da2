package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
	"github.com/kafka-redis-connector/kafka-redis-connector/connector"
	"github.com/kafka-redis-connector/kafka-redis-connector/internal/service"
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
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	file := fs.String("config", "", "YAML config `file` (default: defaults + KRC_* environment)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to `file`, complete at exit (the bench's --cpuprofile uses it)")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	cfg, err := loadConfig(*file)
	if err != nil {
		return err
	}
	log := newLogger(cfg.Log, stderr)
	// go-redis logs through a process-wide logger; without this its plain
	// text lines would break a JSON log stream. Its dial failures repeat
	// what the connector's flush and breaker lines already say: debug.
	redis.SetLogger(goRedisLogger{log.With("component", "go-redis")})
	setMemoryLimit(cfg, os.Getenv("GOMEMLIMIT"), log)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	ctx, force, stop := stopOnSignals(sigs, log)
	defer stop()
	return withCPUProfile(*cpuProfile, func() error {
		return runConnector(ctx, cfg, log, nil, connector.WithForceStop(force))
	})
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

// runConnector builds the service (internal/service), makes the start-up
// check and runs it until ctx ends. onStart, if set, receives the
// connector once built. Extra options go to the connector.
func runConnector(ctx context.Context, cfg config.Config, log *slog.Logger, onStart func(*connector.Connector), extra ...connector.Option) error {
	svc, err := service.Build(cfg, log, prometheus.NewRegistry(),
		service.WithConnectorOpts(extra...), service.WithVersion(version))
	if err != nil {
		var ce *service.ConfigError
		if errors.As(err, &ce) {
			return usageError{err}
		}
		return err
	}
	defer svc.Close()
	if err := svc.Check(ctx); err != nil {
		return err
	}
	if onStart != nil {
		onStart(svc.Connector)
	}
	return svc.Run(ctx)
}
