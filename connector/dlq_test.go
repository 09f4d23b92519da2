package connector_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafka-redis-connector/kafka-redis-connector/connector"
)

const dlqTopic = "events-dlq"

// Dead-letter produce failures are their own failure: a record too large
// for Redis goes to the dead-letter topic however large Kafka delivered it;
// a record the topic can never take stops the connector naming it; a
// dead-letter topic that fails for a while is retried on its own, shown on
// its own metric and readiness, and never opens the Redis breaker nor
// stops the other partitions.
func TestComponentDeadLetterProduceFailures(t *testing.T) {
	const big = 2 << 20
	for _, tc := range []struct {
		name       string
		dlqMaxMsg  string // the dead-letter topic's max.message.bytes; "" creates it only later
		wantStop   bool
		wantDLQErr bool
	}{
		{name: "a 2 MiB record fits the dead-letter topic", dlqMaxMsg: "4194304"},
		{name: "the dead-letter topic can never take it", dlqMaxMsg: "1048588", wantStop: true},
		{name: "the dead-letter topic is missing for a while", wantDLQErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, 4)
			e.cfg.Errors.Policy = "dlq"
			e.cfg.Errors.DLQTopic = dlqTopic
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			four := "4194304"
			if _, err := e.adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Name: "max.message.bytes", Value: &four}}, testTopic); err != nil {
				t.Fatalf("raise max.message.bytes of %s: %v", testTopic, err)
			}
			createDLQ := func() {
				t.Helper()
				if _, err := e.adm.CreateTopic(ctx, 1, 1, map[string]*string{"max.message.bytes": &tc.dlqMaxMsg}, dlqTopic); err != nil {
					t.Fatalf("create dead-letter topic: %v", err)
				}
			}
			if tc.dlqMaxMsg != "" {
				createDLQ()
			} else {
				tc.dlqMaxMsg = four
			}
			prod, err := kgo.NewClient(kgo.SeedBrokers(e.cluster.ListenAddrs()...), kgo.DefaultProduceTopic(testTopic),
				kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerBatchMaxBytes(4<<20))
			if err != nil {
				t.Fatalf("producer: %v", err)
			}
			defer prod.Close()
			value := make([]byte, big) // incompressible: the batch stays over 1 MiB
			_, _ = rand.NewChaCha8([32]byte{}).Read(value)
			if err := prod.ProduceSync(ctx, &kgo.Record{Partition: 0, Value: value}).FirstErr(); err != nil {
				t.Fatalf("produce the 2 MiB record: %v", err)
			}
			e.produce(300, 4) // good records on every partition, partition 0 behind the big one

			r := e.start()
			if tc.wantStop {
				err := r.wait(t, 20*time.Second)
				if !errors.Is(err, connector.ErrDeadLetterRejected) || !strings.Contains(err.Error(), "events/0@0") {
					t.Fatalf("got error %v, want ErrDeadLetterRejected naming events/0@0", err)
				}
				if got := e.committed()[0]; got != 0 {
					t.Errorf("partition 0 committed offset: got %d, want 0 (nothing past the record)", got)
				}
				return
			}
			if tc.wantDLQErr {
				// Partitions 1-3 flow while partition 0 waits for the
				// dead-letter topic.
				e.waitEntries(225, 20*time.Second)
				waitFor(t, "a dead-letter produce error", 30*time.Second, func() bool { return r.c.Snapshot().DLQProduceErrors > 0 })
				s := r.c.Snapshot()
				if !s.DLQFailing || s.BreakerState != connector.BreakerClosed || s.BreakerTrips != 0 || s.FetchPaused {
					t.Errorf("while the dead-letter topic fails: got dlq failing %v, breaker %s, trips %d, fetch paused %v; want true, CLOSED, 0, false",
						s.DLQFailing, s.BreakerState, s.BreakerTrips, s.FetchPaused)
				}
				createDLQ()
			}
			e.waitEntries(300, 30*time.Second)
			waitFor(t, "every partition committed to its end", 20*time.Second, func() bool {
				committed := e.committed()
				for p, end := range e.endOffsets() {
					if committed[p] != end {
						return false
					}
				}
				return true
			})
			r.shutdown(t)
			s := r.c.Snapshot()
			if s.DeadLettered != 1 || s.BreakerTrips != 0 || s.DLQFailing {
				t.Errorf("got dead-lettered %d, breaker trips %d, dlq failing %v; want 1, 0, false", s.DeadLettered, s.BreakerTrips, s.DLQFailing)
			}
			if got := readTopic(t, e, dlqTopic, 1); len(got[0].Value) != big ||
				headerOf(got[0], connector.HeaderSourceOffset) != "0" || headerOf(got[0], connector.HeaderReason) != "entry_too_large" {
				t.Errorf("dead-letter record: got %d bytes, source offset %q, reason %q; want %d, 0, entry_too_large",
					len(got[0].Value), headerOf(got[0], connector.HeaderSourceOffset), headerOf(got[0], connector.HeaderReason), big)
			}
		})
	}
}

func readTopic(t *testing.T, e *env, topic string, want int) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.cluster.ListenAddrs()...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatalf("consumer: %v", err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var got []*kgo.Record
	for len(got) < want && ctx.Err() == nil {
		got = append(got, cl.PollFetches(ctx).Records()...)
	}
	if len(got) != want {
		t.Fatalf("%s: got %d records, want %d", topic, len(got), want)
	}
	return got
}

func headerOf(rec *kgo.Record, key string) string {
	for _, h := range rec.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}
