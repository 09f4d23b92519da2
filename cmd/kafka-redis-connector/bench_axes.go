package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/kafka-redis-connector/kafka-redis-connector/bench"
)

// axesFlags are bench's --axes flags: which axes, their rows, and the
// records per row.
type axesFlags struct {
	axes, partitions, sizes, streams, formats string
	records, maxBytes                         int64
	registry, profileDir                      string
	defaults                                  bool
}

func newAxesFlags(fs *flag.FlagSet) *axesFlags {
	d := bench.DefaultAxes()
	f := &axesFlags{records: d.Records, maxBytes: d.MaxBytes}
	fs.StringVar(&f.axes, "axes", "", "measure the cost tables instead: a comma-separated `list` of partitions, values, fanout, guarantee, formats, or all"+
		" (the connector binary in its own process, next to the ceiling of the same entries; one axes: line per row)")
	fs.StringVar(&f.partitions, "axes-partitions", joinInts(d.Partitions), "partition counts of the partitions axis, comma-separated")
	fs.StringVar(&f.sizes, "axes-sizes", joinInts(d.ValueBytes), "value sizes in bytes of the values axis, comma-separated")
	fs.StringVar(&f.streams, "axes-streams", joinInts(d.Streams), "distinct streams ({key}) of the fanout axis, comma-separated")
	fs.StringVar(&f.formats, "axes-formats", strings.Join(d.Formats, ","), "stream.format values of the formats axis, comma-separated")
	fs.Int64Var(&f.records, "axes-records", f.records, "records per axes row, at most")
	fs.Int64Var(&f.maxBytes, "axes-max-bytes", f.maxBytes, "value bytes per axes row, at most (caps the records of large values)")
	fs.StringVar(&f.registry, "schema-registry", "", "schema registry `URL` of the formats axis (empty: franz-go's in-process double, srfake)")
	fs.StringVar(&f.profileDir, "axes-cpuprofile", "", "write a CPU profile of one more drain of every axes row, in the bench process, to `dir`/<row>.pprof")
	fs.BoolVar(&f.defaults, "axes-defaults", false, "run the axes' connector with its default batch settings instead of the tuned ones")
	return f
}

func (f *axesFlags) set() bool { return f.axes != "" }

// config turns the flags into an AxesConfig (the zero value when --axes is
// not set).
func (f *axesFlags) config() (bench.AxesConfig, error) {
	if !f.set() {
		return bench.AxesConfig{}, nil
	}
	ac := bench.AxesConfig{Records: f.records, MaxBytes: f.maxBytes, SchemaRegistry: f.registry, Defaults: f.defaults,
		ProfileDir: f.profileDir}
	var err error
	if ac.Axes, err = bench.ParseAxes(f.axes); err != nil {
		return ac, err
	}
	parts, err := parseInts("--axes-partitions", f.partitions)
	if err != nil {
		return ac, err
	}
	for _, p := range parts {
		ac.Partitions = append(ac.Partitions, int32(p))
	}
	if ac.ValueBytes, err = parseInts("--axes-sizes", f.sizes); err != nil {
		return ac, err
	}
	if ac.Streams, err = parseInts("--axes-streams", f.streams); err != nil {
		return ac, err
	}
	for _, s := range strings.Split(f.formats, ",") {
		ac.Formats = append(ac.Formats, strings.TrimSpace(s))
	}
	return ac, nil
}

// parseInts reads a comma-separated list of positive integers.
func parseInts(flagName, s string) ([]int, error) {
	var out []int
	for _, part := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil || n <= 0 || n > 1<<31-1 {
			return nil, fmt.Errorf("%s: %q is not a positive integer", flagName, strings.TrimSpace(part))
		}
		out = append(out, n)
	}
	return out, nil
}

func joinInts[T int | int32](v []T) string {
	parts := make([]string, len(v))
	for i, n := range v {
		parts[i] = strconv.Itoa(int(n))
	}
	return strings.Join(parts, ",")
}

func countTrue(b ...bool) int {
	n := 0
	for _, v := range b {
		if v {
			n++
		}
	}
	return n
}

// runAxes measures the axes and prints their tables to tables and one
// axes: line per row (or the rows as JSON) to stdout.
func runAxes(ctx context.Context, cfg bench.Config, ac bench.AxesConfig, stdout, tables io.Writer, asJSON bool) error {
	rows, err := bench.RunAxes(ctx, cfg, ac)
	if err != nil {
		return benchError(err)
	}
	settings := "tuned (" + cfgText(cfg) + ")"
	if ac.Defaults {
		settings = "the connector's defaults"
	}
	fmt.Fprintf(tables, "axes: the connector binary in its own process, batch settings %s; best of %d rounds; ceiling: the same entries, pre-encoded, over 1 and 4 connections\n\n",
		settings, cfg.Rounds)
	bench.WriteAxesTables(tables, rows)
	if asJSON {
		return printJSON(stdout, rows)
	}
	for _, r := range rows {
		fmt.Fprintln(stdout, r.Line())
	}
	return nil
}
