package loadgen

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// EnsureTopic creates topic with the given number of partitions
// (replication factor: the broker's default) unless it exists, and returns
// its partition count and whether it was created.
func EnsureTopic(ctx context.Context, cl *kgo.Client, topic string, partitions int32) (int32, bool, error) {
	adm := kadm.NewClient(cl)
	resp, err := adm.CreateTopic(ctx, partitions, -1, nil, topic)
	if err == nil {
		err = resp.Err
	}
	created := err == nil
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return 0, false, fmt.Errorf("loadgen: create topic %s: %w", topic, err)
	}
	// Metadata lags a creation for a moment. Wait until every partition
	// has a leader that answers: a producer that is told "not leader" first
	// only looks again after its metadata min age (5s in franz-go), which
	// shows up as seconds of latency on one partition.
	for {
		details, err := adm.ListTopics(ctx, topic)
		if err != nil {
			return 0, created, fmt.Errorf("loadgen: describe topic %s: %w", topic, err)
		}
		if d, ok := details[topic]; ok && d.Err == nil && len(d.Partitions) > 0 && allLed(d) && servesOffsets(ctx, adm, topic) {
			return int32(len(d.Partitions)), created, nil
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return 0, created, fmt.Errorf("loadgen: topic %s: %w", topic, err)
		}
	}
}

// DeleteTopics deletes topics, ignoring ones that do not exist.
func DeleteTopics(ctx context.Context, cl *kgo.Client, topics ...string) error {
	resps, err := kadm.NewClient(cl).DeleteTopics(ctx, topics...)
	if err != nil {
		return fmt.Errorf("loadgen: delete topics: %w", err)
	}
	for _, r := range resps {
		if r.Err != nil && !errors.Is(r.Err, kerr.UnknownTopicOrPartition) {
			return fmt.Errorf("loadgen: delete topic %s: %w", r.Topic, r.Err)
		}
	}
	return nil
}

func allLed(d kadm.TopicDetail) bool {
	for _, p := range d.Partitions {
		if p.Err != nil || p.Leader < 0 {
			return false
		}
	}
	return true
}

// servesOffsets reports whether every partition's leader answers a
// ListOffsets request, i.e. has taken up leadership.
func servesOffsets(ctx context.Context, adm *kadm.Client, topic string) bool {
	offs, err := adm.ListEndOffsets(ctx, topic)
	if err != nil || offs.Error() != nil {
		return false
	}
	n := 0
	offs.Each(func(kadm.ListedOffset) { n++ })
	return n > 0
}
