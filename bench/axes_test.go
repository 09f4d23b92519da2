package bench

import (
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/sr"
	"google.golang.org/protobuf/encoding/protowire"
)

func TestParseAxes(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    []Axis
		wantErr string
	}{
		{"all", AllAxes, ""},
		{"formats,partitions", []Axis{AxisPartitions, AxisFormats}, ""},
		{" values , values,fanout", []Axis{AxisValues, AxisFanout}, ""},
		{"guarantee,all", AllAxes, ""},
		{"partitions,size", nil, `unknown axis "size", want some of partitions, values, fanout, guarantee, formats or all`},
		{"partitions,", nil, "empty axis"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseAxes(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, ErrInvalidConfig) {
					t.Fatalf("got %v, %v, want an ErrInvalidConfig containing %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, %v, want %v", got, err, tc.want)
			}
		})
	}
}

func TestAxesPlan(t *testing.T) {
	ac := DefaultAxes()
	ac.Records, ac.MaxBytes = 1000, 200_000
	rows := ac.plan()
	var labels []string
	for _, r := range rows {
		labels = append(labels, string(r.axis)+" "+r.label)
	}
	want := []string{"partitions 1", "partitions 8", "partitions 64", "partitions 512",
		"values 100 B", "values 1 KiB", "values 10 KiB", "values 100 KiB",
		"fanout 1", "fanout 1,000", "fanout 100,000",
		"guarantee at_least_once", "guarantee exactly_once",
		"formats raw", "formats avro", "formats protobuf", "formats json_schema"}
	if !slices.Equal(labels, want) {
		t.Fatalf("rows: got %q, want %q", labels, want)
	}
	base := rows[1].cell
	// The baseline is one measurement, in every table but fan-out's.
	for _, i := range []int{4, 11, 13} {
		if rows[i].cell != base {
			t.Errorf("%s: got cell %+v, want the baseline %+v", labels[i], rows[i].cell, base)
		}
	}
	if rows[8].cell == base || rows[8].cell.backlog.Streams != 1 {
		t.Errorf("fanout 1: got %+v, want its own backlog with one key", rows[8].cell)
	}
	// Records are capped by bytes: 200,000 B of 1 KiB values is 195.
	for i, wantRecords := range map[int]int64{4: 1000, 5: 195, 6: 19, 7: 1} {
		if got := rows[i].cell.backlog.Records; got != wantRecords {
			t.Errorf("%s: got %d records, want %d", labels[i], got, wantRecords)
		}
	}
	order, cells := backlogsOf(rows)
	// 4 partition counts, 3 more sizes, 3 fan-outs, 3 formats.
	if len(order) != 13 {
		t.Errorf("backlogs: got %d, want 13", len(order))
	}
	if got := cells[base.backlog]; len(got) != 2 || got[0] != base || got[1].guarantee != "exactly_once" {
		t.Errorf("baseline backlog's cells: got %+v, want at_least_once then exactly_once", got)
	}
	names := map[string]bool{}
	for _, b := range order {
		for _, c := range cells[b] {
			if names[c.name()] {
				t.Errorf("cell name %q twice", c.name())
			}
			names[c.name()] = true
			if strings.ContainsAny(c.name(), "{}:*_ ") {
				t.Errorf("cell name %q holds a character stream keys or patterns treat specially", c.name())
			}
		}
	}
}

func TestAxesConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		change  func(*AxesConfig)
		wantErr string
	}{
		{"defaults", func(*AxesConfig) {}, ""},
		{"no axes", func(ac *AxesConfig) { ac.Axes = nil }, "no axes"},
		{"no records", func(ac *AxesConfig) { ac.Records = 0 }, "must be positive"},
		{"zero partitions", func(ac *AxesConfig) { ac.Partitions = []int32{8, 0} }, "partitions must be positive, got 0"},
		{"negative size", func(ac *AxesConfig) { ac.ValueBytes = []int{-1} }, "value sizes must be positive"},
		{"no streams", func(ac *AxesConfig) { ac.Streams = []int{0} }, "stream counts must be positive"},
		{"json is not a registry format", func(ac *AxesConfig) { ac.Formats = []string{"json"} }, `format "json"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ac := DefaultAxes()
			tc.change(&ac)
			err := ac.validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("got %v, want no error", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("got %v, want an ErrInvalidConfig containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestAxisRowLine(t *testing.T) {
	r := AxisRow{Axis: AxisFanout, Row: "100,000", Partitions: 8, ValueBytes: 100, Streams: 100_000, Records: 1_000_000,
		EventsPerSec: 123456.4, MBPerSec: 12.34, CPUUsPerEvent: 1.234, PeakRSSMiB: 80.04, Ceiling: 400000, OverCeiling: 0.3086,
		EventsPerBatch: 951.6, RedisCPUUsPerEvent: 2.5, FlushReasons: "size:0.90,time:0.10", FetchBufferedMiB: 12.25, HeapMiB: 40.5,
		GCCycles: 17, HostBusy: 0.934, CeilingRedisCPUUsPerEvent: 1.75}
	const want = "axes: axis=fanout row=100000 partitions=8 value_bytes=100 streams=100000 guarantee=at_least_once format=raw" +
		" records=1000000 events_per_second=123456 mb_per_second=12.3 cpu_us_per_event=1.23 rss_mib=80.0 ceiling=400000" +
		" over_ceiling=0.31 events_per_batch=952 redis_cpu_us_per_event=2.50 flush=size:0.90,time:0.10 fetch_buffered_mib=12.2" +
		" heap_mib=40.5 gc_cycles=17 host_busy=0.93 ceiling_redis_cpu_us_per_event=1.75"
	if got := r.Line(); got != want {
		t.Errorf("got  %q,\nwant %q", got, want)
	}
	r = AxisRow{Axis: AxisValues, Row: "10 KiB", Guarantee: "exactly_once", Format: "avro"}
	if got := r.Line(); !strings.Contains(got, " row=10KiB ") || !strings.Contains(got, " guarantee=exactly_once format=avro ") ||
		!strings.Contains(got, " flush=- ") {
		t.Errorf("got %q, want row=10KiB, the guarantee and format named, flush=-", got)
	}
	// Every value is one key=value token.
	for _, kv := range strings.Fields(strings.TrimPrefix(r.Line(), "axes:")) {
		if !strings.Contains(kv, "=") {
			t.Errorf("token %q of %q is not key=value", kv, r.Line())
		}
	}
}

func TestWriteAxesTables(t *testing.T) {
	rows := []AxisRow{
		{Axis: AxisValues, Row: "100 B", ValueBytes: 100, Records: 1000, EventsPerSec: 300000, CPUUsPerEvent: 1.0,
			Ceiling: 600000, OverCeiling: 0.5, FlushReasons: "size:1.00", Rounds: []float64{290000, 300000}, HeapMiB: 30, FetchBufferedMiB: 8.5,
			GCCycles: 12, RedisCPUUsPerEvent: 2, CeilingRedisCPUUsPerEvent: 1.5, HostBusy: 0.97},
		{Axis: AxisValues, Row: "10 KiB", ValueBytes: 10240, Records: 100, EventsPerSec: 50000, CPUUsPerEvent: 10.0},
		{Axis: AxisGuarantee, Row: "exactly_once", Records: 1000, EventsPerSec: 100000, CPUUsPerEvent: 3.0, Ceiling: 600000,
			OverCeiling: 0.1667},
	}
	var b strings.Builder
	WriteAxesTables(&b, rows)
	out := b.String()
	for _, want := range []string{
		"axis values:\n\n| value size | records | events/s | MB/s | CPU µs/event | × row 1 | CPU µs/KiB | peak RSS MiB |",
		"| 100 B | 1,000 | 300,000 | 0.0 | 1.00 | 1.00 | 10.24 | 0.0 | 30.0 | 8.5 | 12 | 600,000 | 0.50 | 0 | size:1.00 | 2.00 | 1.50 | 97% | 290000 300000 |",
		// Growth against the table's first row, and no ceiling shown as –.
		"| 10 KiB | 100 | 50,000 | 0.0 | 10.00 | 10.00 | 1.00 | 0.0 | 0.0 | 0.0 | 0 | – | – |",
		"axis guarantee:\n\n| delivery.guarantee | records |",
		"| exactly_once | 1,000 | 100,000 | 0.0 | 3.00 | 1.00 | 0.0 | 0.0 | 0.0 | 0 | 600,000 | 0.17 |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("tables: no %q in\n%s", want, out)
		}
	}
	// Every table line has the header's number of cells.
	header := regexp.MustCompile(`(?m)^\|.*\|$`)
	cols := 0
	for _, line := range header.FindAllString(out, -1) {
		n := strings.Count(line, "|")
		if strings.HasPrefix(line, "| value size") || strings.HasPrefix(line, "| delivery") {
			cols = n
		}
		if n != cols {
			t.Errorf("line %q: %d cells, want %d", line, n-1, cols-1)
		}
	}
}

func TestParseMetrics(t *testing.T) {
	const metrics = `# HELP krc_batches_flushed_total Batches written to Redis, by why they were flushed.
# TYPE krc_batches_flushed_total counter
krc_batches_flushed_total{reason="size"} 950
krc_batches_flushed_total{reason="time"} 50
krc_batches_flushed_total_other{reason="x"} 1
krc_records_written_total 1e+06
krc_kafka_buffered_fetch_bytes{client_id="a b",node_id="1"} 1.048576e+06
krc_kafka_buffered_fetch_bytes{client_id="a b",node_id="2"} 1.048576e+06
go_memstats_heap_inuse_bytes 5.24288e+07
go_gc_duration_seconds{quantile="0.5"} 0.0001
go_gc_duration_seconds_count 42
`
	got, err := parseMetrics(strings.NewReader(metrics))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.flushes) != 2 || got.flushes["size"] != 950 || got.flushes["time"] != 50 {
		t.Errorf("flushes: got %v, want size 950 and time 50", got.flushes)
	}
	// Summed over labels; a label value with a space is no problem.
	want := map[string]float64{metricFetchBuffered: 2 << 20, metricHeapInuse: 50 << 20, metricGCCycles: 42}
	if len(got.values) != len(want) {
		t.Errorf("values: got %v, want %v", got.values, want)
	}
	for k, v := range want {
		if got.values[k] != v {
			t.Errorf("%s: got %v, want %v", k, got.values[k], v)
		}
	}
	if s := flushShares(got.flushes); s != "size:0.95,time:0.05" {
		t.Errorf("shares: got %q, want size:0.95,time:0.05", s)
	}
	if s := flushShares(map[string]float64{"time": 1, "idle": 1}); s != "idle:0.50,time:0.50" {
		t.Errorf("tied shares: got %q, want them by name", s)
	}
	if s := flushShares(nil); s != "" {
		t.Errorf("no batches: got %q, want empty", s)
	}
	for _, bad := range []string{`krc_batches_flushed_total{reason="size"} many`, `go_gc_duration_seconds_count`, `go_memstats_heap_inuse_bytes{x="1" 3`} {
		if _, err := parseMetrics(strings.NewReader(bad)); err == nil {
			t.Errorf("%q: got no error", bad)
		}
	}
}

func TestParseHostCPU(t *testing.T) {
	// user nice system idle iowait irq softirq steal guest guest_nice
	a, err := parseHostCPU([]byte("cpu  100 0 50 800 50 0 0 0 30 0\ncpu0 50 0 25 400 25 0 0 0 15 0\n"))
	if err != nil || a.busy != 150 || a.total != 1000 {
		t.Fatalf("got %+v, %v, want busy 150 of 1000 (guest not counted twice)", a, err)
	}
	b := hostCPU{busy: a.busy + 180, total: a.total + 200}
	if got := busyShare(a, b); got != 0.9 {
		t.Errorf("busy share: got %v, want 0.9", got)
	}
	if got := busyShare(b, a); got != 0 {
		t.Errorf("busy share backwards: got %v, want 0", got)
	}
	for _, bad := range []string{"intr 1 2 3 4 5\n", "cpu 1 2 x 4 5\n", "cpu 1 2\n"} {
		if _, err := parseHostCPU([]byte(bad)); err == nil {
			t.Errorf("%q: got no error", bad)
		}
	}
}

func TestParseRedisCPU(t *testing.T) {
	const info = "# CPU\r\nused_cpu_sys:1.250000\r\nused_cpu_user:2.500000\r\nused_cpu_sys_children:9.000000\r\n"
	got, err := parseRedisCPU(info)
	if err != nil || got != 3750*time.Millisecond {
		t.Fatalf("got %v, %v, want 3.75s", got, err)
	}
	if _, err := parseRedisCPU("# CPU\r\nused_cpu_sys:1.0\r\n"); err == nil {
		t.Error("no used_cpu_user: got no error")
	}
}

// Every format's payload is the value size (the wire header included) and
// decodes back to the fields it was given.
func TestFormatPayloads(t *testing.T) {
	sent := time.UnixMicro(1_700_000_000_123_456)
	for _, format := range []string{"avro", "protobuf", "json_schema"} {
		for _, size := range []int{100, 1024, 10240} {
			schema, enc, err := formatSchema(format)
			if err != nil {
				t.Fatal(err)
			}
			var h sr.ConfluentHeader
			var index []int
			if format == "protobuf" {
				index = []int{0}
			}
			dst, _ := h.AppendEncode([]byte("prefix"), 7, index)
			out, err := enc(dst, "bench-x", 3, 12345, sent, size-(len(dst)-len("prefix")))
			if err != nil {
				t.Fatalf("%s %d: %v", format, size, err)
			}
			payload := out[len("prefix"):]
			if len(payload) != size {
				t.Errorf("%s %d: got %d bytes, want %d", format, size, len(payload), size)
			}
			id, body, err := h.DecodeID(payload)
			if err != nil || id != 7 {
				t.Fatalf("%s %d: header: id %d, %v", format, size, id, err)
			}
			switch format {
			case "avro":
				var v struct {
					Run       string    `avro:"run"`
					Partition int       `avro:"partition"`
					Seq       int64     `avro:"seq"`
					Sent      time.Time `avro:"sent"`
					Pad       string    `avro:"pad"`
				}
				if err := avro.Unmarshal(avro.MustParse(schema.Schema), body, &v); err != nil || v.Run != "bench-x" ||
					v.Partition != 3 || v.Seq != 12345 || !v.Sent.Equal(sent) {
					t.Errorf("avro %d: got %+v, %v", size, v, err)
				}
			case "protobuf":
				idx, rest, err := h.DecodeIndex(body, 8)
				if err != nil || !slices.Equal(idx, []int{0}) {
					t.Fatalf("protobuf index: %v, %v", idx, err)
				}
				fields := map[protowire.Number]uint64{}
				for len(rest) > 0 {
					num, typ, n := protowire.ConsumeTag(rest)
					rest = rest[n:]
					switch typ {
					case protowire.VarintType:
						v, m := protowire.ConsumeVarint(rest)
						fields[num], rest = v, rest[m:]
					case protowire.BytesType:
						_, m := protowire.ConsumeBytes(rest)
						if m < 0 {
							t.Fatalf("protobuf %d: field %d malformed", size, num)
						}
						fields[num], rest = 1, rest[m:]
					default:
						t.Fatalf("protobuf %d: field %d of type %v", size, num, typ)
					}
				}
				if fields[2] != 3 || fields[3] != 12345 || fields[4] != uint64(sent.UnixMicro()) || fields[1] != 1 || fields[5] != 1 {
					t.Errorf("protobuf %d: got fields %v", size, fields)
				}
			case "json_schema":
				want := `{"run":"bench-x","partition":3,"seq":12345,"sent":1700000000123456,"pad":"...`
				if !strings.HasPrefix(string(body), want) || !strings.HasSuffix(string(body), `."}`) {
					t.Errorf("json %d: got %.90q", size, body)
				}
			}
		}
	}
}
