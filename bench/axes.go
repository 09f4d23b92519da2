package bench

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Axis is one dimension the cost of the connector is measured along
// (`bench --axes`): each axis is one table, each of its rows one setting,
// everything else held at the baseline (8 partitions, 100-byte values, one
// stream, at_least_once, stream.format raw).
type Axis string

// The axes, as --axes names them.
const (
	AxisPartitions Axis = "partitions" // topic partitions
	AxisValues     Axis = "values"     // value size
	AxisFanout     Axis = "fanout"     // distinct streams through the {key} template
	AxisGuarantee  Axis = "guarantee"  // delivery.guarantee
	AxisFormats    Axis = "formats"    // stream.format, through a schema registry
)

// AllAxes are the axes in the order they are measured and printed.
var AllAxes = []Axis{AxisPartitions, AxisValues, AxisFanout, AxisGuarantee, AxisFormats}

// ParseAxes reads a comma-separated list of axes ("all" for every one)
// into AllAxes order, without duplicates.
func ParseAxes(s string) ([]Axis, error) {
	seen := map[Axis]bool{}
	for _, part := range strings.Split(s, ",") {
		a := Axis(strings.TrimSpace(part))
		switch {
		case a == "all":
			for _, x := range AllAxes {
				seen[x] = true
			}
		case slices.Contains(AllAxes, a):
			seen[a] = true
		case a == "":
			return nil, fmt.Errorf("%w: --axes: empty axis in %q", ErrInvalidConfig, s)
		default:
			return nil, fmt.Errorf("%w: --axes: unknown axis %q, want some of %s or all", ErrInvalidConfig, a, axesText())
		}
	}
	var out []Axis
	for _, a := range AllAxes {
		if seen[a] {
			out = append(out, a)
		}
	}
	return out, nil
}

func axesText() string {
	parts := make([]string, len(AllAxes))
	for i, a := range AllAxes {
		parts[i] = string(a)
	}
	return strings.Join(parts, ", ")
}

// AxesConfig describes an axes run.
type AxesConfig struct {
	Axes       []Axis
	Partitions []int32
	ValueBytes []int
	// Streams are the fan-out rows: records keyed key-0 … key-(n-1), the
	// stream key "{topic}:<row>:{key}".
	Streams []int
	// Formats are the schema-registry formats of the formats axis (raw is
	// its baseline row).
	Formats []string
	// Records per row, capped so a row's backlog holds at most MaxBytes of
	// values.
	Records  int64
	MaxBytes int64
	// SchemaRegistry is the registry's URL for the formats axis; empty
	// runs franz-go's in-process double (srfake) in the bench process.
	SchemaRegistry string
	// Defaults runs the connector with its default batch settings instead
	// of the tuned ones.
	Defaults bool
	// ProfileDir, if set, receives a CPU profile of one more drain of every
	// cell, in the bench process, after its rounds: <cell>.pprof.
	ProfileDir string
}

// DefaultAxes is issue 16 item 5: partitions 1, 8, 64, 512; values 100 B,
// 1 KiB, 10 KiB, 100 KiB; 1, 1,000 and 100,000 streams; both guarantees;
// avro, protobuf and json_schema; at most 1,000,000 records or 1 GiB of
// values per row.
func DefaultAxes() AxesConfig {
	return AxesConfig{Axes: AllAxes, Partitions: []int32{1, 8, 64, 512}, ValueBytes: []int{100, 1024, 10240, 102400},
		Streams: []int{1, 1000, 100_000}, Formats: []string{"avro", "protobuf", "json_schema"},
		Records: 1_000_000, MaxBytes: 1 << 30}
}

// The baseline every axis varies one setting of.
const (
	baselinePartitions = 8
	baselineValueBytes = 100
)

// backlogSpec is one preloaded topic. Rows with equal specs drain the same
// backlog (each with its own group).
type backlogSpec struct {
	Partitions int32
	ValueBytes int
	Records    int64
	// Streams > 0: record i has key "key-<i mod Streams>" and partition
	// i mod Partitions, and the connector writes one stream per key; 0:
	// loadgen's 1024 keys, and one stream.
	Streams int
	// Format is "" for loadgen's raw values, else a schema-registry format.
	Format string
}

// axisCell is one measurement: a backlog drained by the connector with a
// guarantee. Several axes' rows can be the same cell (the baseline is in
// every table but fan-out's).
type axisCell struct {
	backlog   backlogSpec
	guarantee string // "" is at_least_once
}

// axisRowSpec is one row of one table.
type axisRowSpec struct {
	axis  Axis
	label string // the row's setting, as the table shows it
	cell  axisCell
}

func (ac AxesConfig) records(size int) int64 {
	return min(ac.Records, max(ac.MaxBytes/int64(size), 1))
}

func (ac AxesConfig) validate() error {
	switch {
	case len(ac.Axes) == 0:
		return fmt.Errorf("%w: no axes to measure", ErrInvalidConfig)
	case ac.Records <= 0 || ac.MaxBytes <= 0:
		return fmt.Errorf("%w: axes records and bytes per row must be positive", ErrInvalidConfig)
	}
	for _, p := range ac.Partitions {
		if p <= 0 {
			return fmt.Errorf("%w: axes partitions must be positive, got %d", ErrInvalidConfig, p)
		}
	}
	for _, s := range ac.ValueBytes {
		if s <= 0 {
			return fmt.Errorf("%w: axes value sizes must be positive, got %d", ErrInvalidConfig, s)
		}
	}
	for _, n := range ac.Streams {
		if n <= 0 {
			return fmt.Errorf("%w: axes stream counts must be positive, got %d", ErrInvalidConfig, n)
		}
	}
	for _, f := range ac.Formats {
		if !slices.Contains([]string{"avro", "protobuf", "json_schema"}, f) {
			return fmt.Errorf("%w: axes format %q, want avro, protobuf or json_schema", ErrInvalidConfig, f)
		}
	}
	return nil
}

// plan lists every row of the asked axes, in table order.
func (ac AxesConfig) plan() []axisRowSpec {
	base := backlogSpec{Partitions: baselinePartitions, ValueBytes: baselineValueBytes, Records: ac.records(baselineValueBytes)}
	var rows []axisRowSpec
	add := func(a Axis, label string, b backlogSpec, guarantee string) {
		rows = append(rows, axisRowSpec{axis: a, label: label, cell: axisCell{backlog: b, guarantee: guarantee}})
	}
	for _, a := range ac.Axes {
		switch a {
		case AxisPartitions:
			for _, p := range ac.Partitions {
				b := base
				b.Partitions = p
				add(a, strconv.Itoa(int(p)), b, "")
			}
		case AxisValues:
			for _, s := range ac.ValueBytes {
				b := base
				b.ValueBytes, b.Records = s, ac.records(s)
				add(a, sizeText(s), b, "")
			}
		case AxisFanout:
			for _, n := range ac.Streams {
				b := base
				b.Streams = n
				add(a, thousands(int64(n)), b, "")
			}
		case AxisGuarantee:
			add(a, "at_least_once", base, "")
			add(a, "exactly_once", base, "exactly_once")
		case AxisFormats:
			add(a, "raw", base, "")
			for _, f := range ac.Formats {
				b := base
				b.Format = f
				add(a, f, b, "")
			}
		}
	}
	return rows
}

// backlogs returns the distinct backlogs of rows, in first-use order, each
// with its distinct cells.
func backlogsOf(rows []axisRowSpec) ([]backlogSpec, map[backlogSpec][]axisCell) {
	var order []backlogSpec
	cells := map[backlogSpec][]axisCell{}
	for _, r := range rows {
		b := r.cell.backlog
		if _, ok := cells[b]; !ok {
			order = append(order, b)
		}
		if !slices.Contains(cells[b], r.cell) {
			cells[b] = append(cells[b], r.cell)
		}
	}
	return order, cells
}

// name is a cell's part of group and stream names: short, unique within a
// run, and free of the characters stream keys treat specially.
func (c axisCell) name() string {
	b := c.backlog
	s := fmt.Sprintf("ax-p%d-v%d", b.Partitions, b.ValueBytes)
	if b.Streams > 0 {
		s += "-k" + strconv.Itoa(b.Streams)
	}
	if b.Format != "" {
		s += "-" + strings.ReplaceAll(b.Format, "_", "")
	}
	if c.guarantee != "" {
		s += "-eos"
	}
	return s
}

// thousands formats n with commas: 100000 is "100,000".
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}
