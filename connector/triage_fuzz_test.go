package connector

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
	"github.com/kafka-redis-connector/kafka-redis-connector/sink"
)

// FuzzDeadLetterHeaders sends records of any shape, with any error text,
// through the dead-letter producer to an in-process broker and reads them
// back: the original key, value and headers survive byte for byte, in
// order, followed by krc.* headers that decode to the record's coordinates.
func FuzzDeadLetterHeaders(f *testing.F) {
	f.Add([]byte("k"), []byte("v"), "tenant", []byte("acme"), "WRONGTYPE Operation against a key", "events", int32(3), int64(42))
	f.Add([]byte(nil), []byte(nil), "", []byte(nil), "", "", int32(0), int64(0))
	f.Add([]byte{0xff, 0}, bytes.Repeat([]byte("x"), 2000), "krc.error", []byte("\x00"), "multi\nline\xff", "t.1-x", int32(-1), int64(-1))
	f.Add([]byte{}, []byte{}, "h\x00", []byte{}, "%!s(MISSING) %w", "t", int32(2147483647), int64(9223372036854775807))

	const dlq = "fuzz-dlq"
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, dlq))
	if err != nil {
		f.Fatal(err)
	}
	defer cluster.Close()
	prod, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...))
	if err != nil {
		f.Fatal(err)
	}
	defer prod.Close()
	cons, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...), kgo.ConsumeTopics(dlq),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		f.Fatal(err)
	}
	defer cons.Close()

	cfg := config.Default()
	cfg.Errors = config.Errors{Policy: "dlq", DLQTopic: dlq}
	c := New(cfg, nil, WithRegisterer(prometheus.NewRegistry()))
	c.client = prod

	f.Fuzz(func(t *testing.T, key, value []byte, hkey string, hval []byte, errText, topic string, partition int32, offset int64) {
		rec := &kgo.Record{Topic: topic, Partition: partition, Offset: offset, Key: key, Value: value,
			Headers: []kgo.RecordHeader{{Key: hkey, Value: hval}}}
		werr := fmt.Errorf("%w: %s", sink.ErrRejected, errText)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		o := c.produceDeadLetters(ctx, []poisonRecord{{index: 0, rec: rec, stream: "s:" + topic, err: werr}})
		if len(o.done) != 1 || o.ended != 1 || o.fatal != nil {
			t.Fatalf("dead-letter outcome: got %d done, %d ended, fatal %v; want 1, 1, nil", len(o.done), o.ended, o.fatal)
		}
		var got *kgo.Record
		for got == nil {
			fs := cons.PollRecords(ctx, 1)
			if ctx.Err() != nil {
				t.Fatal("the dead-lettered record did not arrive")
			}
			fs.EachRecord(func(r *kgo.Record) { got = r })
		}
		if !bytes.Equal(got.Key, key) || !bytes.Equal(got.Value, value) {
			t.Errorf("key/value: got %q/%d bytes, want %q/%d bytes", got.Key, len(got.Value), key, len(value))
		}
		want := []kgo.RecordHeader{
			{Key: hkey, Value: hval},
			{Key: HeaderError, Value: []byte(werr.Error())},
			{Key: HeaderReason, Value: []byte("rejected")},
			{Key: HeaderStream, Value: []byte("s:" + topic)},
			{Key: HeaderSourceTopic, Value: []byte(topic)},
			{Key: HeaderSourcePartition, Value: []byte(strconv.Itoa(int(partition)))},
			{Key: HeaderSourceOffset, Value: []byte(strconv.FormatInt(offset, 10))},
		}
		if len(got.Headers) != len(want)+1 {
			t.Fatalf("got %d headers, want %d: %v", len(got.Headers), len(want)+1, got.Headers)
		}
		for i, w := range want {
			if h := got.Headers[i]; h.Key != w.Key || !bytes.Equal(h.Value, w.Value) {
				t.Errorf("header %d: got %q=%q, want %q=%q", i, h.Key, h.Value, w.Key, w.Value)
			}
		}
		if p, err := strconv.ParseInt(string(got.Headers[5].Value), 10, 32); err != nil || int32(p) != partition {
			t.Errorf("%s does not decode to %d", HeaderSourcePartition, partition)
		}
		if o, err := strconv.ParseInt(string(got.Headers[6].Value), 10, 64); err != nil || o != offset {
			t.Errorf("%s does not decode to %d", HeaderSourceOffset, offset)
		}
		if h := got.Headers[7]; h.Key != HeaderTime {
			t.Errorf("last header: got %q, want %s", h.Key, HeaderTime)
		} else if _, err := time.Parse(time.RFC3339Nano, string(h.Value)); err != nil {
			t.Errorf("%s = %q: %v", HeaderTime, h.Value, err)
		}
	})
}
