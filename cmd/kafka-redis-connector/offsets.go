package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
	"github.com/kafka-redis-connector/kafka-redis-connector/connector"
	"github.com/kafka-redis-connector/kafka-redis-connector/sink"
)

// cmdOffsets prints, per topic/partition, the group's committed offset and
// the end offset, and (exactly_once) what each stream's companion hash
// holds; "offsets reset" moves the group and the hashes together.
func cmdOffsets(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "reset" {
		return cmdOffsetsReset(args[1:], stdout, stderr)
	}
	cfg, err := configFromFlags("offsets", args, stderr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	o, err := openOffsets(cfg)
	if err != nil {
		return err
	}
	defer o.close()
	topics, err := o.topics(ctx)
	if err != nil {
		return err
	}
	committed, err := o.adm.FetchOffsets(ctx, cfg.Kafka.Group)
	if err != nil {
		return fmt.Errorf("offsets: committed offsets of group %s: %w", cfg.Kafka.Group, err)
	}
	ends, err := o.adm.ListEndOffsets(ctx, topics...)
	if err != nil {
		return fmt.Errorf("offsets: end offsets: %w", err)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "TOPIC\tPARTITION\tCOMMITTED\tEND\tLAG\n")
	for _, lo := range sortedListed(ends) {
		c := "-"
		lag := lo.Offset
		if oc, ok := committed.Lookup(lo.Topic, lo.Partition); ok && oc.Err == nil && oc.At >= 0 {
			c = fmt.Sprint(oc.At)
			lag = lo.Offset - oc.At
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%d\n", lo.Topic, lo.Partition, c, lo.Offset, lag)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	stored, err := sink.ReadStoredOffsets(ctx, o.rdb, func(t string) bool { return slices.Contains(topics, t) })
	if err != nil {
		return fmt.Errorf("offsets: %w", err)
	}
	fmt.Fprintf(stdout, "\ndelivery.guarantee %s; offsets stored in Redis (last record written, per stream):\n", cfg.Delivery.Guarantee)
	if len(stored) == 0 {
		fmt.Fprintln(stdout, "  none")
		return nil
	}
	tw = tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "STREAM\tTOPIC\tPARTITION\tSTORED\n")
	for _, s := range stored {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\n", s.Stream, s.Topic, s.Partition, s.Offset)
	}
	return tw.Flush()
}

func cmdOffsetsReset(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("offsets reset", flag.ContinueOnError)
	file := fs.String("config", "", "YAML config `file` (default: defaults + KRC_* environment)")
	earliest := fs.Bool("to-earliest", false, "reset to each partition's earliest offset")
	at := fs.String("to-time", "", "reset to the first offset at or after `T` (RFC 3339, e.g. 2026-01-02T15:04:05Z)")
	yes := fs.Bool("yes", false, "do it (without it, nothing changes)")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	var when time.Time
	switch {
	case *earliest == (*at != ""):
		return usageError{errors.New("give exactly one of --to-earliest and --to-time")}
	case *at != "":
		var err error
		if when, err = time.Parse(time.RFC3339, *at); err != nil {
			return usageError{fmt.Errorf("--to-time %q: %w", *at, err)}
		}
	}
	cfg, err := loadConfig(*file)
	if err != nil {
		return err
	}
	if !*yes {
		return usageError{fmt.Errorf("this moves group %s and the offsets stored in Redis back; add --yes", cfg.Kafka.Group)}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	o, err := openOffsets(cfg)
	if err != nil {
		return err
	}
	defer o.close()
	groups, err := o.adm.DescribeGroups(ctx, cfg.Kafka.Group)
	if err != nil {
		return fmt.Errorf("reset: describe group %s: %w", cfg.Kafka.Group, err)
	}
	if g, ok := groups[cfg.Kafka.Group]; ok && len(g.Members) > 0 {
		return fmt.Errorf("reset: group %s has %d members (state %s): stop every connector of the group first",
			cfg.Kafka.Group, len(g.Members), g.State)
	}
	topics, err := o.topics(ctx)
	if err != nil {
		return err
	}
	var listed kadm.ListedOffsets
	if *earliest {
		listed, err = o.adm.ListStartOffsets(ctx, topics...)
	} else {
		listed, err = o.adm.ListOffsetsAfterMilli(ctx, when.UnixMilli(), topics...)
	}
	if err == nil {
		err = listed.Error()
	}
	if err != nil {
		return fmt.Errorf("reset: list offsets: %w", err)
	}
	// Redis first: a hash lowered too far only re-writes what the group
	// re-reads anyway; a group moved back over a hash that was not would
	// have its records skipped.
	next := map[string]map[int32]int64{}
	for _, lo := range sortedListed(listed) {
		if next[lo.Topic] == nil {
			next[lo.Topic] = map[int32]int64{}
		}
		next[lo.Topic][lo.Partition] = lo.Offset
		if *earliest {
			next[lo.Topic][lo.Partition] = -1
		}
	}
	changed, err := sink.ResetStoredOffsets(ctx, o.rdb, next)
	if err != nil {
		return fmt.Errorf("reset: %w (group %s not moved)", err, cfg.Kafka.Group)
	}
	if err := o.adm.CommitAllOffsets(ctx, cfg.Kafka.Group, listed.Offsets()); err != nil {
		return fmt.Errorf("reset: commit group %s: %w (%d stored offsets in Redis already lowered; run the reset again)",
			cfg.Kafka.Group, err, changed)
	}
	for _, lo := range sortedListed(listed) {
		fmt.Fprintf(stdout, "%s/%d -> %d\n", lo.Topic, lo.Partition, lo.Offset)
	}
	fmt.Fprintf(stdout, "group %s reset; %d offsets stored in Redis changed\n", cfg.Kafka.Group, changed)
	return nil
}

// offsetsClients are the admin and Redis clients of the offsets command.
type offsetsClients struct {
	cfg config.Config
	kcl *kgo.Client
	adm *kadm.Client
	rdb redis.UniversalClient
}

func openOffsets(cfg config.Config) (*offsetsClients, error) {
	kopts, err := connector.SecurityOpts(cfg.Kafka)
	if err != nil {
		return nil, err
	}
	kcl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(cfg.Kafka.Brokers...), kgo.ClientID(cfg.Kafka.ClientID)}, kopts...)...)
	if err != nil {
		return nil, fmt.Errorf("offsets: kafka client: %w", err)
	}
	rdb, err := sink.NewClient(cfg.Redis)
	if err != nil {
		kcl.Close()
		return nil, err
	}
	return &offsetsClients{cfg: cfg, kcl: kcl, adm: kadm.NewClient(kcl), rdb: rdb}, nil
}

func (o *offsetsClients) close() {
	_ = o.rdb.Close()
	o.kcl.Close()
}

// topics resolves kafka.topics (regular expressions under topics_regex).
func (o *offsetsClients) topics(ctx context.Context) ([]string, error) {
	if !o.cfg.Kafka.TopicsRegex {
		return o.cfg.Kafka.Topics, nil
	}
	all, err := o.adm.ListTopics(ctx)
	if err != nil {
		return nil, fmt.Errorf("offsets: list topics: %w", err)
	}
	var res []*regexp.Regexp
	for _, t := range o.cfg.Kafka.Topics {
		re, err := regexp.Compile(t)
		if err != nil {
			return nil, usageError{fmt.Errorf("kafka.topics %q: %w", t, err)}
		}
		res = append(res, re)
	}
	var out []string
	for _, name := range all.Names() {
		for _, re := range res {
			if re.MatchString(name) {
				out = append(out, name)
				break
			}
		}
	}
	return out, nil
}

func sortedListed(l kadm.ListedOffsets) []kadm.ListedOffset {
	var out []kadm.ListedOffset
	l.Each(func(o kadm.ListedOffset) {
		if o.Partition >= 0 {
			out = append(out, o)
		}
	})
	sort.Slice(out, func(i, j int) bool {
		if out[i].Topic != out[j].Topic {
			return out[i].Topic < out[j].Topic
		}
		return out[i].Partition < out[j].Partition
	})
	return out
}
