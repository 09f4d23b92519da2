package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"

	"github.com/kafka-redis-connector/kafka-redis-connector/bench"
)

func cmdBench(args []string, stdout, stderr io.Writer) error {
	cfg := bench.DefaultConfig()
	sc := bench.DefaultScaling()
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	brokers := fs.String("brokers", "", "Kafka seed `brokers`, comma-separated (default: an embedded broker in this process)")
	fs.StringVar(&cfg.RedisAddr, "redis-addr", cfg.RedisAddr, "Redis `host:port` to write to")
	fs.Int64Var(&cfg.Records, "records", cfg.Records, "records preloaded into Kafka")
	fs.IntVar(&cfg.ValueBytes, "size", cfg.ValueBytes, "value size in `bytes`")
	partitions := fs.Int("partitions", int(cfg.Partitions), "partitions of the backlog topic")
	fs.IntVar(&cfg.Keys, "keys", cfg.Keys, "distinct record keys")
	fs.DurationVar(&cfg.NaiveBudget, "naive-budget", cfg.NaiveBudget, "time the naive forwarder may drain for, per round (it is slow)")
	fs.IntVar(&cfg.Rounds, "rounds", cfg.Rounds, "measure every contender this many times, in turn, and report each one's best round")
	fs.IntVar(&cfg.PacedRate, "paced-rate", cfg.PacedRate, "events/s of each contender's latency phase")
	fs.DurationVar(&cfg.PacedDuration, "paced-duration", cfg.PacedDuration, "length of each contender's latency phase")
	fs.IntVar(&cfg.LatencyRate, "latency-rate", cfg.LatencyRate, "events/s of the latency run")
	fs.DurationVar(&cfg.LatencyDuration, "latency-duration", cfg.LatencyDuration, "length of the latency run (0: skip it)")
	latencyOnly := fs.Bool("latency", false, "run only the latency run")
	scaling := fs.Bool("scaling", false, "measure the scaling table (partitions x value sizes) instead")
	axesFlags := newAxesFlags(fs)
	fs.Int64Var(&sc.Records, "scaling-records", sc.Records, "records per scaling cell (capped at 256 MiB of values)")
	fs.IntVar(&cfg.Tuned.MaxEvents, "tuned-max-events", cfg.Tuned.MaxEvents, "batch.max_events of the tuned connector")
	fs.IntVar(&cfg.Tuned.MaxBytes, "tuned-max-bytes", cfg.Tuned.MaxBytes, "batch.max_bytes of the tuned connector")
	fs.IntVar(&cfg.Tuned.MaxInFlight, "tuned-max-in-flight", cfg.Tuned.MaxInFlight, "batch.max_in_flight of the tuned connector")
	fs.DurationVar(&cfg.Tuned.Timeout, "tuned-timeout", cfg.Tuned.Timeout, "batch.timeout of the tuned connector")
	fs.DurationVar(&cfg.PhaseTimeout, "phase-timeout", cfg.PhaseTimeout, "bound on each phase (a drain, a join)")
	fs.StringVar(&cfg.CPUProfile, "cpuprofile", "", "write a CPU profile of one more tuned drain after the rounds to `file`: of the connector process (run --cpuprofile), or of the bench process with --binary \"\"")
	fs.StringVar(&cfg.HeapProfile, "memprofile", "", "write a heap profile of one more tuned drain in the bench process, half way, to `file`")
	self, _ := os.Executable()
	fs.StringVar(&cfg.ConnectorBinary, "binary", self, "connector `executable` the default and tuned contenders run as (`run`, in processes of their own; empty: in the bench process)")
	redisBenchmark, _ := exec.LookPath("redis-benchmark")
	fs.StringVar(&cfg.RedisBenchmark, "redis-benchmark", redisBenchmark, "redis-benchmark `executable`: the ceiling is also measured with it and the faster method counts (empty: only the bench's own RESP writer)")
	redisServer := fs.String("redis-server", "", "start a private redis-server `executable` (a path, or a name on PATH) on a free loopback port for this run and stop it after (instead of --redis-addr)")
	quick := fs.Bool("quick", false, "the regression guard (make bench-quick): "+quickText+"; exits 1 if a ratio of the run falls below its floor ("+bench.QuickGuard().String()+")")
	fs.BoolVar(&cfg.ExactlyOnce, "exactly-once", cfg.ExactlyOnce, "also measure tuned-exactly-once: the tuned connector binary with delivery.guarantee exactly_once")
	fs.BoolVar(&cfg.Avro, "avro", cfg.Avro, "also measure tuned-avro: the tuned connector decoding Avro records of --size bytes (stream.format avro), in the bench process")
	asJSON := fs.Bool("json", false, "print the result as JSON (tables go to stderr)")
	quiet := fs.Bool("q", false, "no progress lines")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if *quick {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		for name, value := range quickPreset() {
			if !set[name] {
				_ = fs.Set(name, value)
			}
		}
		if !set["redis-addr"] && !set["redis-server"] {
			*redisServer = "redis-server"
		}
		if *scaling || *latencyOnly || axesFlags.set() {
			return usageError{errors.New("--quick is the bench run; it takes no --scaling, --latency or --axes")}
		}
	}
	if *brokers != "" {
		cfg.Brokers = strings.Split(*brokers, ",")
	}
	cfg.Partitions = int32(*partitions)
	if !*quiet {
		cfg.Log = stderr
	}
	if modes := countTrue(*scaling, *latencyOnly, axesFlags.set()); modes > 1 {
		return usageError{errors.New("--scaling, --latency and --axes are separate runs; pick one")}
	}
	ac, err := axesFlags.config()
	if err != nil {
		return usageError{err}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *redisServer != "" {
		srv, err := bench.StartRedisServer(ctx, *redisServer)
		if err != nil {
			return err
		}
		defer func() {
			if err := srv.Stop(); err != nil {
				fmt.Fprintln(stderr, err)
			}
		}()
		cfg.RedisAddr = srv.Addr
		if cfg.Log != nil {
			fmt.Fprintf(cfg.Log, "bench: private redis-server (pid %d) on %s\n", srv.Pid(), srv.Addr)
		}
	}
	tables := stdout
	if *asJSON {
		tables = stderr
	}
	switch {
	case axesFlags.set():
		return runAxes(ctx, cfg, ac, stdout, tables, *asJSON)
	case *scaling:
		cells, err := bench.RunScaling(ctx, cfg, sc)
		if err != nil {
			return benchError(err)
		}
		fmt.Fprintf(tables, "scaling: tuned connector (%s) vs raw sink (pipelines of 500)\n", cfgText(cfg))
		bench.WriteScalingTable(tables, cells)
		if *asJSON {
			return printJSON(stdout, cells)
		}
		return nil
	case *latencyOnly:
		l, err := bench.RunLatency(ctx, cfg)
		if err != nil {
			return benchError(err)
		}
		if *asJSON {
			return printJSON(stdout, l)
		}
		fmt.Fprintf(stdout, "latency: %d events/s for %.0fs with defaults: p50=%.2fms p95=%.2fms p99=%.2fms max=%.2fms lost=%d duplicated=%d out_of_order=%d;"+
			" Kafka alone: p50=%.2fms p99=%.2fms max=%.2fms\n",
			l.Rate, l.Seconds, l.P50Ms, l.P95Ms, l.P99Ms, l.MaxMs, l.Lost, l.Duplicated, l.OutOfOrder,
			l.KafkaOnly.P50Ms, l.KafkaOnly.P99Ms, l.KafkaOnly.MaxMs)
		return nil
	}
	res, err := bench.Run(ctx, cfg)
	if err != nil {
		return benchError(err)
	}
	res.WriteTable(tables)
	if *asJSON {
		b, err := res.JSON()
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s\n", b)
	} else {
		fmt.Fprintln(stdout, res.Summary().Line())
	}
	if *quick {
		return guard(res.Summary(), stderr)
	}
	return nil
}

// quickPreset is the --quick preset, for the flags not given explicitly.
func quickPreset() map[string]string {
	return map[string]string{
		"records": "200000", "rounds": "3", "naive-budget": "2s", "paced-rate": "2000", "paced-duration": "2s",
		"latency-duration": "0", "phase-timeout": "1m",
	}
}

const quickText = "200,000 records, 3 rounds, 2 s paced phases, no latency run, an embedded broker unless --brokers," +
	" a private redis-server unless --redis-addr"

// guard applies bench-quick's regression guard to the run's figures.
func guard(s bench.Summary, stderr io.Writer) error {
	g := bench.QuickGuard()
	if problems := g.Check(s); len(problems) > 0 {
		return fmt.Errorf("regression guard failed (%s): %s", g, strings.Join(problems, "; "))
	}
	fmt.Fprintf(stderr, "bench: regression guard passed (%s)\n", g)
	return nil
}

func cfgText(cfg bench.Config) string {
	return fmt.Sprintf("max_events=%d max_bytes=%d max_in_flight=%d", cfg.Tuned.MaxEvents, cfg.Tuned.MaxBytes, cfg.Tuned.MaxInFlight)
}

// benchError makes a bad configuration a usage error (exit 2).
func benchError(err error) error {
	if errors.Is(err, bench.ErrInvalidConfig) {
		return usageError{err}
	}
	return err
}

func printJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%s\n", b)
	return nil
}
