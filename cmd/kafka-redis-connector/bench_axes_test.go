package main

import (
	"bytes"
	"flag"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/alicebob/miniredis/v2"

	"github.com/kafka-redis-connector/kafka-redis-connector/bench"
)

func TestAxesFlags(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		check   func(t *testing.T, ac bench.AxesConfig)
		wantErr string
	}{
		{name: "not set", args: nil, check: func(t *testing.T, ac bench.AxesConfig) {
			if ac.Axes != nil {
				t.Errorf("got axes %v, want none", ac.Axes)
			}
		}},
		{name: "the issue's rows by default", args: []string{"--axes", "all"}, check: func(t *testing.T, ac bench.AxesConfig) {
			d := bench.DefaultAxes()
			if !slices.Equal(ac.Axes, bench.AllAxes) || !slices.Equal(ac.Partitions, d.Partitions) || !slices.Equal(ac.ValueBytes, d.ValueBytes) ||
				!slices.Equal(ac.Streams, d.Streams) || !slices.Equal(ac.Formats, d.Formats) || ac.Records != d.Records || ac.MaxBytes != d.MaxBytes {
				t.Errorf("got %+v, want %+v", ac, d)
			}
		}},
		{name: "rows given", args: []string{"--axes", "fanout,partitions", "--axes-partitions", "2, 4", "--axes-streams", "10",
			"--axes-formats", "protobuf", "--axes-records", "5000", "--schema-registry", "http://127.0.0.1:1/apis/ccompat/v7", "--axes-defaults"},
			check: func(t *testing.T, ac bench.AxesConfig) {
				if !slices.Equal(ac.Axes, []bench.Axis{bench.AxisPartitions, bench.AxisFanout}) || !slices.Equal(ac.Partitions, []int32{2, 4}) ||
					!slices.Equal(ac.Streams, []int{10}) || !slices.Equal(ac.Formats, []string{"protobuf"}) || ac.Records != 5000 ||
					ac.SchemaRegistry != "http://127.0.0.1:1/apis/ccompat/v7" || !ac.Defaults {
					t.Errorf("got %+v", ac)
				}
			}},
		{name: "bad axis", args: []string{"--axes", "sizes"}, wantErr: `unknown axis "sizes"`},
		{name: "bad list", args: []string{"--axes", "values", "--axes-sizes", "100,1k"}, wantErr: `--axes-sizes: "1k" is not a positive integer`},
		{name: "zero", args: []string{"--axes", "partitions", "--axes-partitions", "0"}, wantErr: `--axes-partitions: "0" is not a positive integer`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := flag.NewFlagSet("bench", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			f := newAxesFlags(fs)
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			ac, err := f.config()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want an error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, ac)
		})
	}
}

// bench --axes end to end, small: an embedded broker, miniredis, the test
// binary as the connector; every asked row is printed as a table row and
// an axes: line.
func TestBenchAxesCommand(t *testing.T) {
	addr := miniredis.RunT(t).Addr()
	args := []string{"bench", "--redis-addr", addr, "--axes", "partitions,values,fanout,guarantee,formats", "--rounds", "1",
		"--axes-partitions", "1,3", "--axes-sizes", "100,2048", "--axes-streams", "1,5", "--axes-formats", "avro,protobuf,json_schema",
		"--axes-records", "2000", "--phase-timeout", "1m", "-q"}
	var stdout, stderr bytes.Buffer
	if code := run(args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit code %d, stderr: %s", code, stderr.String())
	}
	line := regexp.MustCompile(`^axes: axis=(\w+) row=(\S+) partitions=\d+ value_bytes=\d+ streams=\d+ guarantee=\w+ format=\w+ records=(\d+)` +
		` events_per_second=[1-9]\d* mb_per_second=[0-9.]+ cpu_us_per_event=[0-9.]+ rss_mib=[1-9][0-9.]* ceiling=[1-9]\d* over_ceiling=[0-9.]+` +
		` events_per_batch=[1-9]\d* redis_cpu_us_per_event=[0-9.]+ flush=\S+ fetch_buffered_mib=[0-9.]+ heap_mib=[1-9][0-9.]* gc_cycles=\d+ host_busy=[0-9.]+` +
		` ceiling_redis_cpu_us_per_event=[0-9.]+$`)
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		if !strings.HasPrefix(l, "axes: axis=") {
			continue
		}
		m := line.FindStringSubmatch(l)
		if m == nil {
			t.Errorf("line %q does not match %s", l, line)
			continue
		}
		// Records counts what was written after the clock started: all
		// but the few written while the connector joined the group.
		if n, _ := strconv.Atoi(m[3]); n < 1000 || n > 2000 {
			t.Errorf("line %q: %d records measured, want 1000 to 2000", l, n)
		}
		got = append(got, m[1]+" "+m[2])
	}
	want := []string{"partitions 1", "partitions 3", "values 100B", "values 2KiB", "fanout 1", "fanout 5",
		"guarantee at_least_once", "guarantee exactly_once", "formats raw", "formats avro", "formats protobuf", "formats json_schema"}
	if !slices.Equal(got, want) {
		t.Errorf("rows: got %q, want %q", got, want)
	}
	for _, table := range []string{"axis partitions:", "axis values:", "axis fanout:", "axis guarantee:", "axis formats:"} {
		if !strings.Contains(stdout.String(), table) {
			t.Errorf("no %q table in %s", table, stdout.String())
		}
	}
}
