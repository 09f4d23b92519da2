package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
	"github.com/kafka-redis-connector/kafka-redis-connector/connector"
)

// dryRunOptions are the dry-run command's flags.
type dryRunOptions struct {
	file    string
	records int
	from    string
	json    bool
	idle    time.Duration
}

// cmdDryRun reads records from the configured topics and prints what the
// connector would write for each, without writing to Redis: it never
// connects to Redis, and it reads Kafka as a plain consumer, so it neither
// joins the group nor commits an offset.
func cmdDryRun(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("dry-run", flag.ContinueOnError)
	var o dryRunOptions
	fs.StringVar(&o.file, "config", "", "YAML config `file` (default: defaults + KRC_* environment)")
	fs.IntVar(&o.records, "records", 10, "read at most `N` records")
	fs.StringVar(&o.from, "from", "earliest", "where to start in each partition: earliest or latest (then wait for new records)")
	fs.BoolVar(&o.json, "json", false, "print one JSON object per record (the summary goes to stderr)")
	fs.DurationVar(&o.idle, "timeout", 5*time.Second, "stop when no record arrives for this `long`")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage:
  kafka-redis-connector dry-run [--config FILE] [--records N] [--from earliest|latest] [--json] [--timeout D]

Reads records from the configured topics without joining the group or committing, and prints for
each the stream key and the entry it would write (fields, ID, trim options), or the per-record
error it would meet. Nothing is written to Redis.

`)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	switch {
	case o.records < 1:
		return usageError{fmt.Errorf("--records must be at least 1, got %d", o.records)}
	case o.from != "earliest" && o.from != "latest":
		return usageError{fmt.Errorf("--from must be earliest or latest, got %q", o.from)}
	case o.idle <= 0:
		return usageError{fmt.Errorf("--timeout must be positive, got %s", o.idle)}
	}
	cfg, err := loadConfig(o.file)
	if err != nil {
		return err
	}
	pv, err := newEntryPreviewer(cfg)
	if err != nil {
		return usageError{err}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return dryRun(ctx, cfg, o, pv, stdout, stderr)
}

func dryRun(ctx context.Context, cfg config.Config, o dryRunOptions, pv *entryPreviewer, stdout, stderr io.Writer) error {
	security, err := connector.SecurityOpts(cfg.Kafka)
	if err != nil {
		return err
	}
	topics, err := resolveTopics(ctx, cfg.Kafka, security)
	if err != nil {
		return err
	}
	start := kgo.NewOffset().AtStart()
	if o.from == "latest" {
		start = kgo.NewOffset().AtEnd()
	}
	// No ConsumerGroup: a direct consumer has no group to join and no
	// offsets to commit.
	opts := append([]kgo.Opt{
		kgo.SeedBrokers(cfg.Kafka.Brokers...),
		kgo.ClientID(cfg.Kafka.ClientID + "-dry-run"),
		kgo.FetchMaxBytes(cfg.Kafka.FetchMaxBytes),
		kgo.ConsumeTopics(topics...),
		kgo.ConsumeResetOffset(start),
	}, security...)
	if cfg.Kafka.Rack != "" {
		opts = append(opts, kgo.Rack(cfg.Kafka.Rack))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("kafka client: %w", err)
	}
	defer cl.Close()

	summary := stdout
	if o.json {
		summary = stderr
	}
	fmt.Fprintf(summary, "dry run: up to %d records of %s from the %s offset; nothing is written to Redis, the group %s is not joined, no offset is committed\n",
		o.records, strings.Join(topics, ", "), o.from, cfg.Kafka.Group)
	seen, failed := 0, 0
	var fetchErr error
	for seen < o.records {
		pollCtx, cancel := context.WithTimeout(ctx, o.idle)
		fetches := cl.PollRecords(pollCtx, o.records-seen)
		cancel()
		fetches.EachError(func(topic string, partition int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) && fetchErr == nil {
				fetchErr = fmt.Errorf("fetch %s/%d: %w", topic, partition, err)
			}
		})
		recs := fetches.Records()
		for _, rec := range recs {
			e := pv.preview(rec)
			if e.err != nil {
				failed++
			}
			if o.json {
				if err := pv.writeJSON(stdout, e); err != nil {
					return err
				}
			} else {
				pv.writeHuman(stdout, e)
			}
		}
		seen += len(recs)
		if len(recs) == 0 || ctx.Err() != nil {
			break
		}
	}
	switch {
	case ctx.Err() != nil:
		fmt.Fprintf(summary, "dry run: interrupted after %d records (%d would meet an error); nothing was written\n", seen, failed)
	case seen < o.records:
		fmt.Fprintf(summary, "dry run: %d of %d records, then none for %s; %d would be written, %d would meet an error; nothing was written\n",
			seen, o.records, o.idle, seen-failed, failed)
	default:
		fmt.Fprintf(summary, "dry run: %d records; %d would be written, %d would meet an error; nothing was written\n",
			seen, seen-failed, failed)
	}
	switch {
	case fetchErr != nil && seen == 0:
		return fetchErr
	case fetchErr != nil:
		fmt.Fprintf(stderr, "dry run: a fetch failed, so some partitions may not be shown: %v\n", fetchErr)
	}
	return nil
}

// resolveTopics returns the topics the connector would consume: the
// configured names, which must exist, or, with kafka.topics_regex, the
// cluster's topics that a pattern matches and no kafka.topics_exclude
// pattern does (franz-go's rule: internal topics never match).
func resolveTopics(ctx context.Context, k config.Kafka, security []kgo.Opt) ([]string, error) {
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(k.Brokers...), kgo.ClientID(k.ClientID + "-dry-run")}, security...)...)
	if err != nil {
		return nil, fmt.Errorf("kafka client: %w", err)
	}
	defer cl.Close()
	mctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	adm := kadm.NewClient(cl)
	if !k.TopicsRegex {
		listed, err := adm.ListTopics(mctx, k.Topics...)
		if err != nil {
			return nil, fmt.Errorf("describe kafka.topics: %w", err)
		}
		var problems []string
		for _, t := range k.Topics {
			if d, ok := listed[t]; !ok || d.Err != nil {
				problems = append(problems, fmt.Sprintf("%s (%v)", t, d.Err))
			}
		}
		if len(problems) > 0 {
			return nil, fmt.Errorf("kafka.topics: cannot read %s", strings.Join(problems, ", "))
		}
		return k.Topics, nil
	}
	listed, err := adm.ListTopics(mctx)
	if err != nil {
		return nil, fmt.Errorf("list kafka topics: %w", err)
	}
	matches := func(patterns []string, topic string) bool {
		for _, p := range patterns {
			if re, err := regexp.Compile(p); err == nil && re.MatchString(topic) {
				return true
			}
		}
		return false
	}
	var topics []string
	for _, t := range listed.Names() {
		if matches(k.Topics, t) && !matches(k.TopicsExclude, t) {
			topics = append(topics, t)
		}
	}
	if len(topics) == 0 {
		return nil, fmt.Errorf("kafka.topics: no topic of the cluster matches %s (after kafka.topics_exclude)", strings.Join(k.Topics, ", "))
	}
	slices.Sort(topics)
	return topics, nil
}
