package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"
)

// demoAvroSchema is the Avro form of demoEvent's JSON, with a logical type.
const demoAvroSchema = `{"type":"record","name":"PageView","namespace":"demo","fields":[
  {"name":"event_id","type":"long"},
  {"name":"type","type":{"type":"enum","name":"Kind","symbols":["page_view","click"]}},
  {"name":"user","type":"string"},
  {"name":"at","type":{"type":"long","logicalType":"timestamp-micros"}},
  {"name":"referrer","type":["null","string"],"default":null}]}`

// demoRegistry is an in-process registry of the Confluent API (a test
// double, franz-go's srfake: for the demo only) holding demoAvroSchema.
type demoRegistry struct {
	fake   *srfake.Registry
	id     int
	schema avro.Schema
}

func startDemoRegistry() (*demoRegistry, error) {
	fake := srfake.New()
	id, _, err := fake.RegisterSchema(demoTopic+"-value", sr.Schema{Schema: demoAvroSchema})
	if err != nil {
		fake.Close()
		return nil, fmt.Errorf("demo schema registry: %w", err)
	}
	return &demoRegistry{fake: fake, id: id, schema: avro.MustParse(demoAvroSchema)}, nil
}

// encode returns event seq in the Confluent wire format.
func (d *demoRegistry) encode(seq int64, now time.Time) []byte {
	var h sr.ConfluentHeader
	b, _ := h.AppendEncode(make([]byte, 0, 64), d.id, nil)
	var referrer any
	if seq%3 == 0 {
		referrer = "https://example.com/"
	}
	payload, err := avro.Marshal(d.schema, map[string]any{"event_id": seq, "type": "page_view",
		"user": fmt.Sprintf("user-%d", seq%97), "at": now, "referrer": referrer})
	if err != nil {
		panic(err) // the values above always fit the schema
	}
	return append(b, payload...)
}

// printSample shows one record as produced and as the stream holds it.
func (d *demoRegistry) printSample(ctx context.Context, out io.Writer, rdb redis.Cmdable, key string) {
	msgs, err := rdb.XRangeN(ctx, key, "-", "+", 1).Result()
	if err != nil || len(msgs) == 0 {
		return
	}
	fmt.Fprintf(out, "avro: schema id %d at %s; a record is 5 header bytes + the Avro payload\n", d.id, d.fake.URL())
	var b strings.Builder
	for _, f := range []string{"event_id", "type", "user", "at", "referrer", "partition", "offset"} {
		fmt.Fprintf(&b, " %s=%v", f, msgs[0].Values[f])
	}
	fmt.Fprintf(out, "avro: first entry of %s:%s\n", key, b.String())
}
