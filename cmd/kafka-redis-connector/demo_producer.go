package main

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafka-redis-connector/kafka-redis-connector/oracle"
	"github.com/kafka-redis-connector/kafka-redis-connector/sink"
)

// demoProducer sends JSON events at a fixed rate and remembers the
// (partition, offset) of every record Kafka acknowledged.
type demoProducer struct {
	rate   int
	encode func(seq int64, now time.Time) []byte // the value; nil: demoEvent's JSON
	acked  atomic.Int64
	errors atomic.Int64

	mu   sync.Mutex
	acks map[int32][]int64
}

func (p *demoProducer) run(ctx context.Context, brokers []string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.DefaultProduceTopic(demoTopic),
		kgo.ProducerLinger(time.Millisecond))
	if err != nil {
		return fmt.Errorf("demo producer: %w", err)
	}
	defer cl.Close()
	p.acks = make(map[int32][]int64)
	const tick = 10 * time.Millisecond
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	start := time.Now()
	var sent int64
	for {
		select {
		case <-ctx.Done():
			// Wait for what is in flight, with a fresh deadline.
			fctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			return cl.Flush(fctx)
		case now := <-ticker.C:
			due := int64(now.Sub(start).Seconds()*float64(p.rate)) - sent
			for i := int64(0); i < due; i++ {
				sent++
				rec := &kgo.Record{
					Key:   []byte("user-" + strconv.FormatInt(sent%97, 10)),
					Value: demoEvent(sent, now),
				}
				if p.encode != nil {
					rec.Value = p.encode(sent, now)
				}
				cl.Produce(context.Background(), rec, p.onAck)
			}
		}
	}
}

func (p *demoProducer) onAck(r *kgo.Record, err error) {
	if err != nil {
		p.errors.Add(1)
		return
	}
	p.mu.Lock()
	p.acks[r.Partition] = append(p.acks[r.Partition], r.Offset)
	p.mu.Unlock()
	p.acked.Add(1)
}

func (p *demoProducer) offsets() map[int32][]int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.acks
}

func demoEvent(seq int64, now time.Time) []byte {
	b := make([]byte, 0, 96)
	b = append(b, `{"event_id":`...)
	b = strconv.AppendInt(b, seq, 10)
	b = append(b, `,"type":"page_view","user":"user-`...)
	b = strconv.AppendInt(b, seq%97, 10)
	b = append(b, `","at":"`...)
	b = now.UTC().AppendFormat(b, time.RFC3339Nano)
	return append(b, `"}`...)
}

type demoSummary struct {
	entries, lost, duplicated, outOfOrder int
}

// verifyStreams reads the stream back and checks it against the
// acknowledged offsets.
func verifyStreams(ctx context.Context, rdb redis.Cmdable, key string, acked map[int32][]int64) (demoSummary, error) {
	chk := oracle.NewChecker()
	for p, offs := range acked {
		for _, o := range offs {
			chk.Expect(p, o)
		}
	}
	err := sink.ReadStream(ctx, rdb, key, func(id string, f map[string]any) error {
		p, perr := strconv.ParseInt(fmt.Sprint(f["partition"]), 10, 32)
		o, oerr := strconv.ParseInt(fmt.Sprint(f["offset"]), 10, 64)
		if perr != nil || oerr != nil {
			return fmt.Errorf("entry %s of %s lacks partition/offset fields", id, key)
		}
		chk.Observe(int32(p), o)
		return nil
	})
	r := chk.Report()
	return demoSummary{entries: r.Entries, lost: r.Lost, duplicated: r.Duplicated, outOfOrder: r.OutOfOrder}, err
}
