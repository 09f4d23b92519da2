package bench

import (
	"context"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
	"github.com/kafka-redis-connector/kafka-redis-connector/loadgen"
)

// Config describes a bench run. DefaultConfig has the published settings.
type Config struct {
	// Brokers are the Kafka seed brokers; empty starts an embedded kfake
	// broker in this process (then CPU and RSS figures include it).
	Brokers   []string
	RedisAddr string
	// Records is the backlog preloaded into Kafka.
	Records    int64
	ValueBytes int
	Partitions int32
	// Keys is the number of distinct record keys in the backlog.
	Keys int
	// NaiveBudget bounds the naive forwarder's drain: it stops after this
	// long and its events/s is computed over what it wrote.
	NaiveBudget time.Duration
	// Rounds is how often every contender is measured, in turn; each
	// reports its best round, since on a shared machine noise only ever
	// slows a run down.
	Rounds int
	// PacedRate and PacedDuration drive each contender's latency phase,
	// after its drain.
	PacedRate     int
	PacedDuration time.Duration
	// LatencyRate and LatencyDuration drive the latency run (connector
	// defaults); a zero duration skips it.
	LatencyRate     int
	LatencyDuration time.Duration
	// Tuned is the batch configuration of the tuned contender.
	Tuned config.Batch
	// PhaseTimeout bounds each wait (a drain, a join).
	PhaseTimeout time.Duration
	// ConnectorBinary is the kafka-redis-connector executable the default
	// and tuned contenders run as: `run`, configured through KRC_*
	// environment variables, as deployed, so their CPU and RSS figures are
	// the connector's alone. Empty runs them in the bench process instead.
	ConnectorBinary string
	// RedisBenchmark, if set, is the redis-benchmark executable: the
	// ceiling is also measured with it, and the faster method counts.
	RedisBenchmark string
	// CPUProfile, if set, receives a CPU profile of one more tuned drain
	// after the rounds: of the connector binary's process (`run
	// --cpuprofile`) when there is a ConnectorBinary, else of the bench
	// process. HeapProfile receives a heap profile of a tuned drain in the
	// bench process when it is half done.
	CPUProfile  string
	HeapProfile string
	// Avro adds the tuned-avro contender: the tuned connector decoding an
	// Avro backlog of the same size through a schema registry (avro.go).
	Avro bool
	// ExactlyOnce adds the tuned-exactly-once contender (the built binary
	// only): the tuned connector with delivery.guarantee exactly_once.
	ExactlyOnce bool
	// Log receives progress lines (nil: none).
	Log io.Writer
}

// TunedBatch is the tuned contender's batch configuration: batches twenty
// times the default's size, four flushes in flight on partition lanes, and
// room for 1000 values of up to 8 KiB.
func TunedBatch() config.Batch {
	return config.Batch{MaxEvents: 1000, MaxBytes: 8 << 20, Timeout: 100 * time.Millisecond, MaxInFlight: 4,
		MaxBufferedBytes: config.Default().Batch.MaxBufferedBytes}
}

// DefaultConfig is the bench: 1,000,000 records of 100 bytes in 8
// partitions, against the local Redis, with an embedded broker.
func DefaultConfig() Config {
	return Config{
		RedisAddr:       "127.0.0.1:6379",
		Records:         1_000_000,
		ValueBytes:      100,
		Partitions:      8,
		Keys:            1024,
		NaiveBudget:     5 * time.Second,
		Rounds:          3,
		PacedRate:       5000,
		PacedDuration:   5 * time.Second,
		LatencyRate:     1000,
		LatencyDuration: 30 * time.Second,
		Tuned:           TunedBatch(),
		PhaseTimeout:    5 * time.Minute,
		Avro:            true,
		ExactlyOnce:     true,
	}
}

func (c Config) validate() error {
	switch {
	case c.Records <= 0:
		return fmt.Errorf("%w: records must be positive, got %d", ErrInvalidConfig, c.Records)
	case c.ValueBytes <= 0 || c.Partitions <= 0:
		return fmt.Errorf("%w: value size and partitions must be positive", ErrInvalidConfig)
	case c.PacedRate <= 0 || c.PacedDuration <= 0:
		return fmt.Errorf("%w: the paced phase needs a positive rate and duration", ErrInvalidConfig)
	case c.LatencyDuration > 0 && c.LatencyRate <= 0:
		return fmt.Errorf("%w: the latency run needs a positive rate", ErrInvalidConfig)
	case c.NaiveBudget <= 0 || c.PhaseTimeout <= 0 || c.Rounds <= 0:
		return fmt.Errorf("%w: naive budget, rounds and phase timeout must be positive", ErrInvalidConfig)
	case c.Tuned.MaxEvents <= 0 || c.Tuned.MaxBytes <= 0 || c.Tuned.MaxInFlight <= 0 || c.Tuned.Timeout <= 0:
		return fmt.Errorf("%w: tuned batch settings must be positive", ErrInvalidConfig)
	}
	return nil
}

func (c Config) tunedText() string {
	return fmt.Sprintf("batch.max_events=%d batch.max_bytes=%d batch.timeout=%s batch.max_in_flight=%d",
		c.Tuned.MaxEvents, c.Tuned.MaxBytes, c.Tuned.Timeout, c.Tuned.MaxInFlight)
}

// Run preloads the backlog and measures every contender (the ceiling, the
// raw go-redis sink, the naive forwarder, the connector with default and
// tuned settings) and, if configured, the latency run. It deletes its topics
// and streams before returning.
func Run(ctx context.Context, cfg Config) (Result, error) {
	res := Result{Redis: cfg.RedisAddr, Records: cfg.Records, ValueBytes: cfg.ValueBytes, Partitions: cfg.Partitions,
		PacedRate: cfg.PacedRate, Tuned: cfg.tunedText(), ExternalBroker: len(cfg.Brokers) > 0}
	if err := cfg.validate(); err != nil {
		return res, err
	}
	e, err := newEnv(ctx, cfg)
	if err != nil {
		return res, err
	}
	defer e.close(ctx)
	res.Brokers = fmt.Sprint(e.brokers)

	backlog := e.topic("")
	if err := e.createTopic(ctx, backlog, cfg.Partitions); err != nil {
		return res, err
	}
	fmt.Fprintf(e.log, "bench: preloading %d records of %d bytes into %s (%d partitions)\n",
		cfg.Records, cfg.ValueBytes, backlog, cfg.Partitions)
	start := time.Now()
	if _, err := e.produce(ctx, loadgen.Config{Topic: backlog, Partitions: cfg.Partitions, Count: cfg.Records,
		Size: cfg.ValueBytes, Keys: cfg.Keys}, 5*time.Millisecond); err != nil {
		return res, err
	}
	fmt.Fprintf(e.log, "bench: preloaded in %s\n", time.Since(start).Round(time.Millisecond))

	// Every contender once per round, in turn, so slow periods of a shared
	// machine hit them alike.
	list := e.contenders(ctx, backlog)
	if cfg.Avro {
		ab, err := e.preloadAvro(ctx)
		if err != nil {
			return res, err
		}
		defer ab.close()
		list = append(list, contender{name: "tuned-avro", brokerInProcess: true,
			run: func(round int) (Measurement, error) { return e.runAvro(ctx, ab, round) }})
	}
	rounds := map[string][]Measurement{}
	for round := 1; round <= cfg.Rounds; round++ {
		for _, c := range list {
			fmt.Fprintf(e.log, "bench: round %d/%d: %s ...\n", round, cfg.Rounds, c.name)
			m, err := c.run(round)
			if err != nil {
				return res, fmt.Errorf("%s: %w", c.name, err)
			}
			fmt.Fprintf(e.log, "bench: round %d/%d: %s: %.0f events/s, %.2f µs CPU/event, peak RSS %.1f MiB\n",
				round, cfg.Rounds, c.name, m.EventsPerSec, m.CPUUsPerEvent, m.PeakRSSMiB)
			rounds[c.name] = append(rounds[c.name], m)
		}
	}
	for _, c := range list {
		m := best(rounds[c.name])
		if !res.ExternalBroker && c.brokerInProcess {
			m.Note = joinNote(m.Note, "CPU and RSS include the embedded broker")
		}
		res.Runs = append(res.Runs, m)
	}
	ceiling := res.run("ceiling").EventsPerSec
	for i := range res.Runs {
		res.Runs[i].OverCeiling = ratio(res.Runs[i].EventsPerSec, ceiling)
	}
	if err := e.profile(ctx, backlog); err != nil {
		return res, err
	}

	if cfg.LatencyDuration > 0 {
		fmt.Fprintf(e.log, "bench: latency run, %d events/s for %s with defaults ...\n", cfg.LatencyRate, cfg.LatencyDuration)
		l, err := e.runLatency(ctx)
		if err != nil {
			return res, fmt.Errorf("latency run: %w", err)
		}
		res.Latency = &l
	}
	return res, nil
}

// RunLatency runs only the latency run.
func RunLatency(ctx context.Context, cfg Config) (LatencyRun, error) {
	if cfg.LatencyDuration <= 0 || cfg.LatencyRate <= 0 {
		return LatencyRun{}, fmt.Errorf("%w: the latency run needs a positive rate and duration", ErrInvalidConfig)
	}
	e, err := newEnv(ctx, cfg)
	if err != nil {
		return LatencyRun{}, err
	}
	defer e.close(ctx)
	return e.runLatency(ctx)
}

// best merges a contender's rounds: the figures of its fastest round, the
// latency of the first (the only one with a paced phase), the highest peak
// RSS of all, and every round's events/s.
func best(rounds []Measurement) Measurement {
	out := rounds[0]
	for _, m := range rounds[1:] {
		if m.EventsPerSec > out.EventsPerSec {
			out = m
		}
	}
	out.LatencyP50Ms, out.LatencyP99Ms = rounds[0].LatencyP50Ms, rounds[0].LatencyP99Ms
	out.Rounds = nil
	for _, m := range rounds {
		out.PeakRSSMiB = max(out.PeakRSSMiB, m.PeakRSSMiB)
		out.Rounds = append(out.Rounds, math.Round(m.EventsPerSec))
	}
	return out
}

// instance names a contender's run in a round: its group and stream suffix.
func instance(name string, round int) string {
	if round <= 1 {
		return name
	}
	return name + "-" + strconv.Itoa(round)
}
