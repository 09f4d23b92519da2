//go:build integration

package testcontainers

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafka-redis-connector/kafka-redis-connector/sink"
)

// valuePadding makes every produced value about 100 bytes.
var valuePadding = strings.Repeat("x", 80)

// scenario holds what one test uses: a topic, a group and a stream per
// partition, all named after the test so that tests never share state.
type scenario struct {
	name       string
	topic      string
	group      string
	partitions int32
	adm        *kadm.Client
	// rdb reads the streams back: a plain client of svc.redisAddr, or a
	// cluster or failover client in the cluster and sentinel scenarios.
	rdb redis.UniversalClient
}

// newScenario creates the topic with the given partitions. When the test
// passes, the topic, the group and the streams are deleted; a failing
// test leaves them for inspection.
func newScenario(t *testing.T, name string, partitions int32) *scenario {
	t.Helper()
	needServices(t)
	id := strconv.FormatInt(time.Now().UnixNano(), 36)
	s := &scenario{
		name:       name,
		topic:      "krcit-" + strings.ReplaceAll(name, "_", "-") + "-" + id,
		group:      "krcit-" + name + "-" + id,
		partitions: partitions,
		adm:        newAdmin(t),
		rdb:        newRedis(t, svc.redisAddr),
	}
	createTopic(t, s.adm, s.topic, partitions)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("left for inspection: topic %s, group %s, streams %s", s.topic, s.group, s.streamKey(0))
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = s.adm.DeleteGroups(ctx, s.group)
		_, _ = s.adm.DeleteTopics(ctx, s.topic)
		_ = s.rdb.Del(ctx, s.redisKeys()...).Err()
	})
	return s
}

// redisKeys are the scenario's streams and, for exactly_once runs, their
// companion hashes (DEL ignores the keys that do not exist).
func (s *scenario) redisKeys() []string {
	keys := s.streamKeys()
	for _, k := range s.streamKeys() {
		if c, err := sink.CompanionKey(k); err == nil {
			keys = append(keys, c)
		}
	}
	return keys
}

// env is the connector configuration for this scenario.
func (s *scenario) env(extra map[string]string) map[string]string {
	return connectorEnv(s.group, []string{s.topic}, extra)
}

// streamKey is the stream of partition p under "it:{topic}:{partition}".
func (s *scenario) streamKey(p int32) string {
	return "it:" + s.topic + ":" + strconv.Itoa(int(p))
}

func (s *scenario) streamKeys() []string {
	keys := make([]string, s.partitions)
	for p := range s.partitions {
		keys[p] = s.streamKey(p)
	}
	return keys
}

func newAdmin(t *testing.T) *kadm.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(svc.brokers...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return kadm.NewClient(cl)
}

func newRedis(t *testing.T, addr string) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// createTopic creates topic (replication 1) and waits until every partition
// has a leader.
func createTopic(t *testing.T, adm *kadm.Client, topic string, partitions int32) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := adm.CreateTopic(ctx, partitions, 1, nil, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		t.Fatalf("create topic %s: %v", topic, err)
	}
	for {
		ends, err := adm.ListEndOffsets(ctx, topic)
		if err == nil && ends.Error() == nil && len(ends[topic]) == int(partitions) {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("topic %s: partitions not ready: %v", topic, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// produced identifies a record acknowledged by Kafka.
type produced struct {
	partition int32
	seq       int64
}

// producer writes records whose value names a unique (partition, sequence):
// "p=<partition>;seq=<n>;" plus padding. Sequences count from 0 per
// partition in produce order, so per-partition Kafka order is seq order.
type producer struct {
	cl    *kgo.Client
	topic string
	next  []int64 // next sequence per partition; used by one goroutine

	mu       sync.Mutex
	acked    []produced
	failed   int
	firstErr error
}

func newProducer(t *testing.T, topic string, partitions int32) *producer {
	t.Helper()
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(svc.brokers...),
		kgo.DefaultProduceTopic(topic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerLinger(5*time.Millisecond),
		kgo.MaxBufferedRecords(20000),
		// Keep retrying through a broker restart rather than fail records.
		kgo.UnknownTopicRetries(-1),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return &producer{cl: cl, topic: topic, next: make([]int64, partitions)}
}

func recordValue(p int32, seq int64) []byte {
	return fmt.Appendf(nil, "p=%d;seq=%d;%s", p, seq, valuePadding)
}

// produce enqueues n records round-robin over the partitions; Produce
// blocks while the client's buffer is full.
func (pr *producer) produce(ctx context.Context, n int) {
	parts := int32(len(pr.next))
	for i := 0; i < n && ctx.Err() == nil; i++ {
		p := int32(i) % parts
		seq := pr.next[p]
		pr.next[p]++
		pr.cl.Produce(ctx, &kgo.Record{Partition: p, Value: recordValue(p, seq)}, func(_ *kgo.Record, err error) {
			pr.mu.Lock()
			defer pr.mu.Unlock()
			if err != nil {
				pr.failed++
				if pr.firstErr == nil {
					pr.firstErr = err
				}
				return
			}
			pr.acked = append(pr.acked, produced{p, seq})
		})
	}
}

// flush waits until every enqueued record is acknowledged or failed.
func (pr *producer) flush(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := pr.cl.Flush(ctx); err != nil {
		t.Fatalf("producer flush: %v", err)
	}
}

// result returns the acknowledged records and the number that failed.
func (pr *producer) result() ([]produced, int, error) {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	return append([]produced(nil), pr.acked...), pr.failed, pr.firstErr
}

// load produces total records in the background at about perSecond records
// a second (0: as fast as possible).
type load struct {
	pr   *producer
	done chan struct{}
}

func startLoad(pr *producer, total, perSecond int) *load {
	l := &load{pr: pr, done: make(chan struct{})}
	go func() {
		defer close(l.done)
		if perSecond <= 0 {
			pr.produce(context.Background(), total)
			return
		}
		const tick = 50 * time.Millisecond
		chunk := max(perSecond/int(time.Second/tick), 1)
		start := time.Now()
		for sent := 0; sent < total; {
			n := min(chunk, total-sent)
			pr.produce(context.Background(), n)
			sent += n
			if d := time.Until(start.Add(time.Duration(sent) * time.Second / time.Duration(perSecond))); d > 0 {
				time.Sleep(d)
			}
		}
	}()
	return l
}

// wait waits for the load to be produced and acknowledged, and returns the
// number of acknowledged records.
func (l *load) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-l.done:
	case <-time.After(5 * time.Minute):
		t.Fatal("load: producing did not finish within 5m")
	}
	l.pr.flush(t)
	acked, failed, err := l.pr.result()
	if failed > 0 {
		t.Logf("load: %d records failed to produce (first error: %v); they are not expected", failed, err)
	}
	return len(acked)
}
