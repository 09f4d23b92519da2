package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafka-redis-connector/kafka-redis-connector/loadgen"
)

func cmdLoadgen(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	brokers := fs.String("brokers", "127.0.0.1:9092", "Kafka seed `brokers`, comma-separated")
	topic := fs.String("topic", "events", "`topic` to produce to")
	rate := fs.Int("rate", 1000, "events per `second` (0: as fast as Kafka accepts)")
	duration := fs.Duration("duration", 10*time.Second, "how long to produce")
	size := fs.Int("size", 100, "value size in `bytes` (at least the ~40-byte header)")
	keys := fs.Int("keys", 100, "distinct record keys (0: no keys, partitions round robin)")
	partitions := fs.Int("partitions", 8, "partitions of the topic, created with this many when missing")
	linger := fs.Duration("linger", time.Millisecond, "producer linger (batching delay)")
	verify := fs.String("verify", "", "after producing, read the streams back from the Redis at `host:port` and check them")
	streamKey := fs.String("stream", "{topic}", "stream key `template` the connector writes to (its stream.key)")
	fs.StringVar(streamKey, "stream-key", "{topic}", "same as --stream")
	valueField := fs.String("value-field", "value", "entry `field` holding the record value (the connector's stream.value_field)")
	verifyTimeout := fs.Duration("verify-timeout", 30*time.Second, "how long --verify waits for every record to arrive")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	switch {
	case *rate < 0:
		return usageError{fmt.Errorf("--rate must not be negative, got %d", *rate)}
	case *duration <= 0:
		return usageError{fmt.Errorf("--duration must be positive, got %s", *duration)}
	case *partitions <= 0:
		return usageError{fmt.Errorf("--partitions must be positive, got %d", *partitions)}
	case *size < 0 || *keys < 0:
		return usageError{errors.New("--size and --keys must not be negative")}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(strings.Split(*brokers, ",")...)},
		loadgen.ClientOpts(*linger)...)...)
	if err != nil {
		return fmt.Errorf("kafka client: %w", err)
	}
	defer cl.Close()
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	parts, created, err := loadgen.EnsureTopic(tctx, cl, *topic, int32(*partitions))
	cancel()
	if err != nil {
		return err
	}
	if created {
		fmt.Fprintf(stderr, "loadgen: created topic %q with %d partitions\n", *topic, parts)
	} else if parts != int32(*partitions) {
		fmt.Fprintf(stderr, "loadgen: topic %q exists with %d partitions; using them\n", *topic, parts)
	}
	gen, err := loadgen.New(loadgen.Config{Topic: *topic, Partitions: parts, Rate: *rate, Duration: *duration,
		Size: *size, Keys: *keys})
	if err != nil {
		return usageError{err}
	}
	var rdb *redis.Client
	var streams []string
	if *verify != "" {
		// Check the template and Redis before producing anything.
		if streams, err = gen.StreamKeys(*streamKey); err != nil {
			return usageError{err}
		}
		rdb = redis.NewClient(&redis.Options{Addr: *verify})
		defer rdb.Close()
		if err := rdb.Ping(ctx).Err(); err != nil {
			return fmt.Errorf("--verify: no Redis answers at %s: %w", *verify, err)
		}
	}
	fmt.Fprintf(stderr, "loadgen: run %s: %d events/s for %s to %q (%d partitions), %d-byte values, %d keys\n",
		gen.Config().Run, *rate, *duration, *topic, parts, *size, *keys)

	runErr := make(chan error, 1)
	go func() { runErr <- gen.Run(ctx, cl) }()
	err = showProgress(stderr, gen, runErr)
	p := gen.Progress()
	fmt.Fprintf(stdout, "loadgen: %s\n", p.Line())
	if err != nil {
		return err
	}
	if p.FirstErr != nil {
		fmt.Fprintf(stderr, "loadgen: first produce error: %v\n", p.FirstErr)
	}
	if rdb == nil {
		return nil
	}
	fmt.Fprintf(stderr, "loadgen: verifying %d stream(s) at %s (up to %s)\n", len(streams), *verify, *verifyTimeout)
	rep, err := gen.Verify(ctx, rdb, streams, *valueField, *verifyTimeout)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "verify: %s\n", rep)
	if rep.Lost > 0 || rep.OutOfOrder > 0 {
		return fmt.Errorf("%d records lost, %d out of order", rep.Lost, rep.OutOfOrder)
	}
	return nil
}

// showProgress prints the progress line about once a second until done
// delivers Run's result: rewritten in place on a terminal, one line each
// otherwise.
func showProgress(w io.Writer, gen *loadgen.Generator, done <-chan error) error {
	tty := isTerminal(w)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case err := <-done:
			if tty {
				fmt.Fprintf(w, "\r\033[K")
			}
			return err
		case <-t.C:
			if tty {
				fmt.Fprintf(w, "\r\033[K%s", gen.Progress().Line())
			} else {
				fmt.Fprintln(w, gen.Progress().Line())
			}
		}
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
