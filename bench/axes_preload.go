package bench

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/kafka-redis-connector/kafka-redis-connector/loadgen"
)

// The formats axis's record, in each schema language: the loadgen header's
// facts as fields, and padding to the value size (benchAvroSchema is the
// Avro one).
const (
	benchProtoSchema = `syntax = "proto3";
package krc.bench;
message BenchEvent {
  string run = 1;
  int32 partition = 2;
  int64 seq = 3;
  int64 sent = 4;
  string pad = 5;
}
`
	benchJSONSchema = `{"type":"object","properties":{"run":{"type":"string"},"partition":{"type":"integer"},` +
		`"seq":{"type":"integer"},"sent":{"type":"integer"},"pad":{"type":"string"}},` +
		`"required":["run","partition","seq","sent","pad"]}`
)

// payloadEncoder appends one record's payload (without the wire header)
// of exactly size bytes where the fields allow it.
type payloadEncoder func(dst []byte, run string, partition int32, seq int64, sent time.Time, size int) ([]byte, error)

// padding returns n dots, from a cache (most records need the same few
// lengths).
type padding map[int]string

func (p padding) of(n int) string {
	n = max(n, 0)
	s, ok := p[n]
	if !ok {
		s = strings.Repeat(".", n)
		p[n] = s
	}
	return s
}

func avroEncoder() payloadEncoder {
	schema := avro.MustParse(benchAvroSchema)
	pads := padding{}
	return func(dst []byte, run string, partition int32, seq int64, sent time.Time, size int) ([]byte, error) {
		v := map[string]any{"run": run, "partition": int(partition), "seq": seq, "sent": sent, "pad": ""}
		b, err := avro.Marshal(schema, v)
		if err != nil {
			return dst, err
		}
		if pad := size - len(b); pad > 0 {
			// The pad's length prefix grows by a byte past 63 characters.
			v["pad"] = pads.of(pad)
			if b, err = avro.Marshal(schema, v); err == nil && len(b) > size {
				v["pad"] = pads.of(pad - (len(b) - size))
				b, err = avro.Marshal(schema, v)
			}
		}
		return append(dst, b...), err
	}
}

// protoEncoder writes the BenchEvent message field by field (protowire):
// the bench needs no generated code for a five-field message.
func protoEncoder() payloadEncoder {
	pads := padding{}
	return func(dst []byte, run string, partition int32, seq int64, sent time.Time, size int) ([]byte, error) {
		start := len(dst)
		dst = protowire.AppendTag(dst, 1, protowire.BytesType)
		dst = protowire.AppendString(dst, run)
		dst = protowire.AppendTag(dst, 2, protowire.VarintType)
		dst = protowire.AppendVarint(dst, uint64(partition))
		dst = protowire.AppendTag(dst, 3, protowire.VarintType)
		dst = protowire.AppendVarint(dst, uint64(seq))
		dst = protowire.AppendTag(dst, 4, protowire.VarintType)
		dst = protowire.AppendVarint(dst, uint64(sent.UnixMicro()))
		// The pad field: a tag byte, its length's varint, the dots.
		if rest := size - (len(dst) - start) - 1; rest > 1 {
			n := rest - 1
			for n > 0 && protowire.SizeVarint(uint64(n))+n > rest {
				n--
			}
			dst = protowire.AppendTag(dst, 5, protowire.BytesType)
			dst = protowire.AppendString(dst, pads.of(n))
		}
		return dst, nil
	}
}

func jsonEncoder() payloadEncoder {
	pads := padding{}
	return func(dst []byte, run string, partition int32, seq int64, sent time.Time, size int) ([]byte, error) {
		start := len(dst)
		dst = append(dst, `{"run":`...)
		dst = strconv.AppendQuote(dst, run)
		dst = append(dst, `,"partition":`...)
		dst = strconv.AppendInt(dst, int64(partition), 10)
		dst = append(dst, `,"seq":`...)
		dst = strconv.AppendInt(dst, seq, 10)
		dst = append(dst, `,"sent":`...)
		dst = strconv.AppendInt(dst, sent.UnixMicro(), 10)
		dst = append(dst, `,"pad":"`...)
		dst = append(dst, pads.of(size-(len(dst)-start)-2)...)
		return append(dst, `"}`...), nil
	}
}

// formatSchema returns the format's schema and payload encoder.
func formatSchema(format string) (sr.Schema, payloadEncoder, error) {
	switch format {
	case "avro":
		return sr.Schema{Schema: benchAvroSchema, Type: sr.TypeAvro}, avroEncoder(), nil
	case "protobuf":
		return sr.Schema{Schema: benchProtoSchema, Type: sr.TypeProtobuf}, protoEncoder(), nil
	case "json_schema":
		return sr.Schema{Schema: benchJSONSchema, Type: sr.TypeJSON}, jsonEncoder(), nil
	}
	return sr.Schema{}, nil, fmt.Errorf("%w: no schema for format %q", ErrInvalidConfig, format)
}

// registerFormat registers the format's schema for topic's values and
// returns its id and a function appending one record's value in the
// Confluent wire format.
func registerFormat(ctx context.Context, registryURL, topic, format string) (func(dst []byte, run string, p int32, seq int64, sent time.Time, size int) ([]byte, error), error) {
	schema, enc, err := formatSchema(format)
	if err != nil {
		return nil, err
	}
	cl, err := sr.NewClient(sr.URLs(registryURL))
	if err != nil {
		return nil, fmt.Errorf("bench: schema registry: %w", err)
	}
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	ss, err := cl.CreateSchema(rctx, topic+"-value", schema)
	if err != nil {
		return nil, fmt.Errorf("bench: register the %s schema at %s: %w", format, registryURL, err)
	}
	var index []int
	if format == "protobuf" {
		index = []int{0}
	}
	var h sr.ConfluentHeader
	return func(dst []byte, run string, p int32, seq int64, sent time.Time, size int) ([]byte, error) {
		dst, _ = h.AppendEncode(dst, ss.ID, index)
		// The header counts towards the value size.
		return enc(dst, run, p, seq, sent, size-(len(dst)))
	}, nil
}

// produceAxis preloads n records into topic, record i to partition
// i mod partitions, with the key record returns and the value it appends
// to dst. Returns when Kafka acknowledged every one.
func (e *env) produceAxis(ctx context.Context, topic string, partitions int32, n int64,
	record func(dst []byte, i int64, p int32, seq int64, now time.Time) (key, out []byte, err error)) error {
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(e.brokers...), kgo.DefaultProduceTopic(topic)},
		loadgen.ClientOpts(5*time.Millisecond)...)...)
	if err != nil {
		return fmt.Errorf("bench: producer: %w", err)
	}
	defer cl.Close()
	var failed atomic.Int64
	var firstErr atomic.Value
	next := make([]int64, partitions)
	// Values come from slabs of a few MiB, not one allocation each.
	var slab []byte
	for i := range n {
		p := int32(i % int64(partitions))
		if cap(slab)-len(slab) < 256<<10 {
			slab = make([]byte, 0, 4<<20)
		}
		start := len(slab)
		key, out, err := record(slab, i, p, next[p], time.Now())
		if err != nil {
			return err
		}
		value := out[start:len(out):len(out)]
		slab = out
		next[p]++
		cl.Produce(ctx, &kgo.Record{Partition: p, Key: key, Value: value}, func(_ *kgo.Record, err error) {
			if err != nil && failed.Add(1) == 1 {
				firstErr.Store(err)
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		return fmt.Errorf("bench: preload %s: %w", topic, err)
	}
	if f := failed.Load(); f > 0 {
		return fmt.Errorf("bench: %d of %d records not acknowledged by kafka: %v", f, n, firstErr.Load())
	}
	return nil
}

// preloadAxis fills the backlog's topic: loadgen's records for a plain
// backlog; for a fan-out one records keyed key-0 … key-(Streams-1) round
// robin over the partitions, so every row has the same partitions busy;
// for a format one payloads in that format, their schema registered at
// registryURL.
func (e *env) preloadAxis(ctx context.Context, b backlogSpec, topic, registryURL string) error {
	switch {
	case b.Streams == 0 && b.Format == "":
		_, err := e.produce(ctx, loadgen.Config{Topic: topic, Partitions: b.Partitions, Count: b.Records,
			Size: b.ValueBytes, Keys: max(e.cfg.Keys, int(b.Partitions))}, 5*time.Millisecond)
		return err
	case b.Format == "":
		keys := make([][]byte, b.Streams)
		for k := range keys {
			keys[k] = []byte("key-" + strconv.Itoa(k))
		}
		return e.produceAxis(ctx, topic, b.Partitions, b.Records, func(dst []byte, i int64, p int32, seq int64, now time.Time) ([]byte, []byte, error) {
			return keys[i%int64(b.Streams)], loadgen.AppendValue(dst, e.id, p, seq, now, b.ValueBytes), nil
		})
	}
	enc, err := registerFormat(ctx, registryURL, topic, b.Format)
	if err != nil {
		return err
	}
	return e.produceAxis(ctx, topic, b.Partitions, b.Records, func(dst []byte, _ int64, p int32, seq int64, now time.Time) ([]byte, []byte, error) {
		v, err := enc(dst, e.id, p, seq, now, b.ValueBytes)
		return nil, v, err
	})
}
