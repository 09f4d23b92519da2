package bench

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
	"github.com/kafka-redis-connector/kafka-redis-connector/loadgen"
)

// decodedEntry is a schema-format entry as the connector writes it by
// default: the decoded fields, then the metadata fields.
func decodedEntry(topic string, r rec) []any {
	p, off := strconv.Itoa(int(r.p)), strconv.FormatInt(r.seq, 10)
	return []any{"run", "run1", "partition", p, "seq", off, "pad", "..",
		"topic", topic, "partition", p, "offset", off, "timestamp", "1764680000000"}
}

// backlogOf is records records sent round robin to partitions: their
// partitions and offsets.
func backlogOf(partitions int32, records int64) []rec {
	var out []rec
	for i := range records {
		out = append(out, rec{int32(i % int64(partitions)), i / int64(partitions)})
	}
	return out
}

func xadd(t *testing.T, rdb *redis.Client, stream string, values []any) {
	t.Helper()
	if err := rdb.XAdd(context.Background(), &redis.XAddArgs{Stream: stream, Values: values}).Err(); err != nil {
		t.Fatal(err)
	}
}

func wantErr(t *testing.T, err error, want string) {
	t.Helper()
	if want == "" && err != nil || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
		t.Errorf("got %v, want %q", err, want)
	}
}

// TestCheckAvroStream: the avro contender's stream holds decoded fields;
// its metadata fields name the records, duplicates are at_least_once's
// allowance and exactly_once's failure.
func TestCheckAvroStream(t *testing.T) {
	all := backlogOf(2, 5) // partition 0: offsets 0-2, partition 1: 0-1
	withDup := append(append([]rec{}, all...), rec{0, 2}, rec{1, 0})
	for _, tc := range []struct {
		name        string
		entries     []rec
		foreign     []any // one more entry, if set
		exactlyOnce bool
		wantErr     string
	}{
		{name: "each once, at_least_once", entries: all},
		{name: "each once, exactly_once", entries: all, exactlyOnce: true},
		{name: "duplicates, at_least_once", entries: withDup},
		{name: "duplicates, exactly_once", entries: withDup, exactlyOnce: true,
			wantErr: "holds 7 entries, 2 of them duplicates, want each of the 5 records once"},
		{name: "one missing though as many entries", entries: append(all[1:], rec{1, 1}),
			wantErr: "1 of the 5 records missing after 100ms (5 entries, 1 duplicates)"},
		{name: "another topic's record", entries: all, foreign: decodedEntry("other", rec{0, 0}),
			wantErr: "holds no record of topic avro"},
		{name: "an offset past its partition's records", entries: all[1:], foreign: decodedEntry("avro", rec{1, 2}),
			wantErr: "holds offset 2, outside partition 1's 2 records"},
		{name: "no metadata", entries: all, foreign: []any{"run", "run1", "seq", "0"},
			wantErr: "holds no record of topic avro"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rdb := redis.NewClient(&redis.Options{Addr: miniredis.RunT(t).Addr()})
			defer rdb.Close()
			for _, r := range tc.entries {
				xadd(t, rdb, "s", decodedEntry("avro", r))
			}
			if tc.foreign != nil {
				xadd(t, rdb, "s", tc.foreign)
			}
			e := &env{rdb: rdb, cfg: Config{Records: 5, Partitions: 2, PhaseTimeout: 100 * time.Millisecond}}
			wantErr(t, e.checkAvroStream(context.Background(), "avro", "s", tc.exactlyOnce), tc.wantErr)
		})
	}
}

// TestCheckAxisStreams: an axis cell's streams, one or fanned out, raw or
// decoded, hold every record, once under exactly_once.
func TestCheckAxisStreams(t *testing.T) {
	const records = 6
	all := backlogOf(2, records)
	withDup := append(append([]rec{}, all...), rec{0, 1}, rec{1, 2})
	raw := func(r rec) []any {
		return []any{config.Default().Stream.ValueField, loadgen.AppendValue(nil, "run1", r.p, r.seq, time.Now(), 20)}
	}
	for _, tc := range []struct {
		name        string
		b           backlogSpec
		entries     []rec
		exactlyOnce bool
		wantErr     string
	}{
		{name: "raw, each once", b: backlogSpec{Partitions: 2, Records: records}, entries: all, exactlyOnce: true},
		{name: "raw, duplicates, at_least_once", b: backlogSpec{Partitions: 2, Records: records}, entries: withDup},
		{name: "raw, duplicates, exactly_once", b: backlogSpec{Partitions: 2, Records: records}, entries: withDup, exactlyOnce: true,
			wantErr: "holds 8 entries, 2 of them duplicates"},
		{name: "raw, one missing", b: backlogSpec{Partitions: 2, Records: records}, entries: append(all[1:], rec{0, 1}),
			wantErr: "1 of the 6 records missing"},
		{name: "fanned out, duplicates, at_least_once", b: backlogSpec{Partitions: 2, Records: records, Streams: 3}, entries: withDup},
		{name: "fanned out, duplicates, exactly_once", b: backlogSpec{Partitions: 2, Records: records, Streams: 3}, entries: withDup,
			exactlyOnce: true, wantErr: "the 3 streams s:key-0 … hold 8 entries, 2 of them duplicates"},
		{name: "fanned out, one missing", b: backlogSpec{Partitions: 2, Records: records, Streams: 3}, entries: append(all[1:], rec{0, 1}),
			wantErr: "1 of the 6 records missing"},
		{name: "avro, duplicates, at_least_once", b: backlogSpec{Partitions: 2, Records: records, Format: "avro"}, entries: withDup},
		{name: "avro, duplicates, exactly_once", b: backlogSpec{Partitions: 2, Records: records, Format: "avro"}, entries: withDup,
			exactlyOnce: true, wantErr: "holds 8 entries, 2 of them duplicates"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rdb := redis.NewClient(&redis.Options{Addr: miniredis.RunT(t).Addr()})
			defer rdb.Close()
			for _, r := range tc.entries {
				stream, values := "s", raw(r)
				if tc.b.Streams > 0 {
					// The key of the record's position in the backlog.
					stream += ":key-" + strconv.Itoa(int(r.seq*2+int64(r.p))%tc.b.Streams)
				}
				if tc.b.Format != "" {
					values = decodedEntry("t", r)
				}
				xadd(t, rdb, stream, values)
			}
			e := &env{rdb: rdb, cfg: Config{PhaseTimeout: 100 * time.Millisecond}}
			wantErr(t, e.checkAxisStreams(context.Background(), tc.b, "t", "s", tc.exactlyOnce), tc.wantErr)
		})
	}
}
