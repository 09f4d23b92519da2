package bench

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/kafka-redis-connector/kafka-redis-connector/loadgen"
)

// benchAvroSchema is the Avro record of the avro contender's backlog: the
// loadgen header's facts as fields, and padding to the value size.
const benchAvroSchema = `{"type":"record","name":"BenchEvent","namespace":"krc.bench","fields":[
  {"name":"run","type":"string"},
  {"name":"partition","type":"int"},
  {"name":"seq","type":"long"},
  {"name":"sent","type":{"type":"long","logicalType":"timestamp-micros"}},
  {"name":"pad","type":"string"}]}`

// avroBacklog is the avro contender's backlog: the same number of records
// as the raw backlog, each an Avro payload of ValueBytes bytes in the
// Confluent wire format, with the schema in an in-process registry double
// (franz-go's srfake). The connector asks it once per schema id, so it is
// not part of the cost measured: decoding is.
type avroBacklog struct {
	topic string
	reg   *srfake.Registry
}

func (e *env) preloadAvro(ctx context.Context) (*avroBacklog, error) {
	b := &avroBacklog{topic: e.topic("avro"), reg: srfake.New()}
	if err := e.createTopic(ctx, b.topic, e.cfg.Partitions); err != nil {
		b.reg.Close()
		return nil, err
	}
	id, _, err := b.reg.RegisterSchema(b.topic+"-value", sr.Schema{Schema: benchAvroSchema})
	if err != nil {
		b.reg.Close()
		return nil, fmt.Errorf("bench: register the avro schema: %w", err)
	}
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(e.brokers...), kgo.DefaultProduceTopic(b.topic),
		kgo.RecordPartitioner(kgo.ManualPartitioner())}, loadgen.ClientOpts(5*time.Millisecond)...)...)
	if err != nil {
		b.reg.Close()
		return nil, fmt.Errorf("bench: producer: %w", err)
	}
	defer cl.Close()
	schema := avro.MustParse(benchAvroSchema)
	var h sr.ConfluentHeader
	var failed atomic.Int64
	var firstErr atomic.Value
	start := time.Now()
	for i := range e.cfg.Records {
		p := int32(i % int64(e.cfg.Partitions))
		v := map[string]any{"run": e.id, "partition": int(p), "seq": i / int64(e.cfg.Partitions), "sent": time.Now(), "pad": ""}
		payload, err := avro.Marshal(schema, v)
		if err != nil {
			b.reg.Close()
			return nil, err
		}
		if pad := e.cfg.ValueBytes - len(payload); pad > 0 {
			// The pad's length prefix grows by a byte past 63 characters.
			v["pad"] = strings.Repeat(".", pad)
			if payload, err = avro.Marshal(schema, v); err == nil && len(payload) > e.cfg.ValueBytes {
				v["pad"] = strings.Repeat(".", pad-(len(payload)-e.cfg.ValueBytes))
				payload, err = avro.Marshal(schema, v)
			}
			if err != nil {
				b.reg.Close()
				return nil, err
			}
		}
		rec, _ := h.AppendEncode(make([]byte, 0, 5+len(payload)), id, nil)
		cl.Produce(ctx, &kgo.Record{Partition: p, Value: append(rec, payload...)}, func(_ *kgo.Record, err error) {
			if err != nil && failed.Add(1) == 1 {
				firstErr.Store(err)
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		b.reg.Close()
		return nil, fmt.Errorf("bench: avro preload: %w", err)
	}
	if n := failed.Load(); n > 0 {
		b.reg.Close()
		return nil, fmt.Errorf("bench: %d avro records not acknowledged by kafka: %v", n, firstErr.Load())
	}
	fmt.Fprintf(e.log, "bench: preloaded %d avro records (%d B payloads + 5 B header) into %s in %s\n",
		e.cfg.Records, e.cfg.ValueBytes, b.topic, time.Since(start).Round(time.Millisecond))
	return b, nil
}

func (b *avroBacklog) close() { b.reg.Close() }

// runAvro measures the connector with the tuned settings and stream.format
// avro draining the avro backlog: beside "tuned" (the same settings, raw
// format) it is the cost of decoding.
func (e *env) runAvro(ctx context.Context, b *avroBacklog, round int) (Measurement, error) {
	inst := instance("tuned-avro", round)
	cfg, err := e.connectorConfig(inst, e.cfg.Tuned, []string{b.topic})
	if err != nil {
		return Measurement{}, err
	}
	cfg.Stream.Format = "avro"
	cfg.SchemaRegistry.URL = b.reg.URL()
	if err := cfg.Validate(); err != nil {
		return Measurement{}, err
	}
	r, m, err := e.drainConnector(ctx, cfg, e.cfg.Records, e.cfg.ValueBytes, profiles{})
	if err != nil {
		return m, err
	}
	m.Name = "tuned-avro"
	m.Note = joinNote(m.Note, "stream.format avro, tuned settings; no paced phase")
	stream := b.topic + ":" + inst
	err = e.checkAvroStream(ctx, b.topic, stream, cfg.Delivery.ExactlyOnce())
	_ = e.rdb.Unlink(ctx, stream).Err()
	if cerr := r.close(); err == nil && cerr != nil {
		err = fmt.Errorf("bench: connector: %w", cerr)
	}
	return m, err
}

// checkAvroStream checks the stream the avro contender wrote from topic:
// every backlog record, and under exactly_once each once. Its entries hold
// the decoded fields, not loadgen values: the metadata fields name each
// record.
func (e *env) checkAvroStream(ctx context.Context, topic, stream string, exactlyOnce bool) error {
	return e.checkDeliveredIn(ctx, []string{stream}, e.cfg.Records, exactlyOnce, e.cfg.PhaseTimeout,
		kafkaRecords(topic, e.cfg.Partitions, e.cfg.Records))
}
