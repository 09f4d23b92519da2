package sink

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
)

// benchBatch is the tuned bench's batch shape: 1000 records of one
// partition, 100-byte values, keys of the form the load generator uses,
// timestamps a few records apart.
func benchBatch() []*kgo.Record {
	recs := make([]*kgo.Record, 1000)
	val := bytes.Repeat([]byte{'x'}, 100)
	t0 := time.UnixMilli(1700000000000)
	for i := range recs {
		recs[i] = &kgo.Record{Topic: "bench-cfj5cah3", Partition: 3, Offset: 125000 + int64(i),
			Key: fmt.Appendf(nil, "key-%04d", i%1024), Value: val, Timestamp: t0.Add(time.Duration(i/8) * time.Millisecond)}
	}
	return recs
}

// BenchmarkEncodeBatch is the direct transport's encoding of one batch of
// XADDs, as Write does it between taking its scratch and sending: the
// default stream settings, per record the cost of encodeXADD.
func BenchmarkEncodeBatch(b *testing.B) {
	w, err := NewWriter(nil, config.Default().Stream)
	if err != nil {
		b.Fatal(err)
	}
	recs := benchBatch()
	b.ReportAllocs()
	cpu0 := processCPU()
	for b.Loop() {
		sc := w.scratch.Get().(*writeScratch)
		sc.trim = w.args.AppendTrim(sc.trim[:0], time.Time{})
		sc.out = append(sc.out, respMulti...)
		for i, rec := range recs {
			if err := w.encodeXADD(sc, "bench:stream", nil, rec); err != nil {
				b.Fatal(err)
			}
			sc.index = append(sc.index, i)
		}
		sc.out = append(sc.out, respExec...)
		w.release(sc)
	}
	reportPerRecord(b, cpu0, len(recs))
}

// BenchmarkReadTransaction is parsing Redis's replies to one batch of 1000
// XADDs in MULTI/EXEC, as a real server sends them.
func BenchmarkReadTransaction(b *testing.B) {
	const n = 1000
	var sb strings.Builder
	sb.WriteString("+OK\r\n")
	for range n {
		sb.WriteString("+QUEUED\r\n")
	}
	fmt.Fprintf(&sb, "*%d\r\n", n)
	for i := range n {
		id := fmt.Sprintf("1700000000%03d-%d", i%1000, i%7)
		fmt.Fprintf(&sb, "$%d\r\n%s\r\n", len(id), id)
	}
	replies := []byte(sb.String())
	src := bytes.NewReader(replies)
	r := bufio.NewReaderSize(src, 32<<10)
	queued := make([]error, n)
	b.ReportAllocs()
	cpu0 := processCPU()
	for b.Loop() {
		src.Reset(replies)
		r.Reset(src)
		ok, err := readTransaction(r, n, queued, func(int, error) {})
		if err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
	reportPerRecord(b, cpu0, n)
}

// reportPerRecord reports wall and CPU time per record of a benchmark
// whose every op handled perOp records; cpu0 is processCPU at its start.
// On a shared machine the CPU time is the figure to compare.
func reportPerRecord(b *testing.B, cpu0 time.Duration, perOp int) {
	n := float64(b.N * perOp)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/record")
	if cpu := processCPU() - cpu0; cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/n, "cpu-ns/record")
	}
}
