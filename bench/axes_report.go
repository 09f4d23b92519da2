package bench

import (
	"fmt"
	"io"
	"strings"
)

// AxisRow is one row of an axis table: the connector binary, in a process
// of its own, draining one backlog, next to the ceiling for the same
// entries.
type AxisRow struct {
	Axis       Axis   `json:"axis"`
	Row        string `json:"row"`
	Partitions int32  `json:"partitions"`
	ValueBytes int    `json:"value_bytes"`
	// Streams is the number of streams the {key} template fans out to; 0
	// is the one stream "{topic}:<row>".
	Streams   int    `json:"streams"`
	Guarantee string `json:"guarantee"`
	Format    string `json:"format"`
	Records   int64  `json:"records"`
	// The connector's figures, of its fastest round; PeakRSSMiB is the
	// highest of all rounds.
	EventsPerSec  float64 `json:"events_per_second"`
	MBPerSec      float64 `json:"mb_per_second"`
	CPUUsPerEvent float64 `json:"cpu_us_per_event"`
	PeakRSSMiB    float64 `json:"peak_rss_mib"`
	// Ceiling is the same entries written from memory as fast as Redis
	// takes them (0: not measured for this row); OverCeiling the
	// connector's events/s over it.
	Ceiling     float64 `json:"ceiling"`
	OverCeiling float64 `json:"over_ceiling"`
	// EventsPerBatch is records written over batches flushed during the
	// drain (the connector's /stats counters).
	EventsPerBatch float64 `json:"events_per_batch"`
	// RedisCPUUsPerEvent is redis-server's CPU (INFO cpu, user + sys) over
	// the drain, per record.
	RedisCPUUsPerEvent float64 `json:"redis_cpu_us_per_event"`
	// FlushReasons are the drain's batches by why they were flushed, as
	// shares ("size:0.97,time:0.03"; the connector's
	// krc_batches_flushed_total).
	FlushReasons string `json:"flush_reasons"`
	// FetchBufferedMiB and HeapMiB are the peaks of franz-go's buffered
	// fetch bytes and the Go heap in use, sampled every 200 ms from the
	// connector's /metrics; GCCycles the garbage collections of the drain.
	FetchBufferedMiB float64 `json:"fetch_buffered_mib"`
	HeapMiB          float64 `json:"heap_mib"`
	GCCycles         float64 `json:"gc_cycles"`
	// HostBusy is the share of the machine's CPU (all cores, /proc/stat)
	// busy during the drain: near 1, the machine is the limit.
	HostBusy float64 `json:"host_busy"`
	// CeilingRedisCPUUsPerEvent is redis-server's CPU per entry during the
	// ceiling's fastest run.
	CeilingRedisCPUUsPerEvent float64   `json:"ceiling_redis_cpu_us_per_event"`
	Rounds                    []float64 `json:"rounds_events_per_second,omitempty"`
	Note                      string    `json:"note,omitempty"`
}

// Line is the row's machine-readable line: "axes:" and space-separated
// key=value pairs, the row label without spaces or commas.
func (r AxisRow) Line() string {
	guarantee, format := r.Guarantee, r.Format
	if guarantee == "" {
		guarantee = "at_least_once"
	}
	if format == "" {
		format = "raw"
	}
	label := strings.NewReplacer(" ", "", ",", "").Replace(r.Row)
	flush := r.FlushReasons
	if flush == "" {
		flush = "-"
	}
	return fmt.Sprintf("axes: axis=%s row=%s partitions=%d value_bytes=%d streams=%d guarantee=%s format=%s records=%d"+
		" events_per_second=%.0f mb_per_second=%.1f cpu_us_per_event=%.2f rss_mib=%.1f ceiling=%.0f over_ceiling=%.2f"+
		" events_per_batch=%.0f redis_cpu_us_per_event=%.2f flush=%s fetch_buffered_mib=%.1f heap_mib=%.1f gc_cycles=%.0f"+
		" host_busy=%.2f ceiling_redis_cpu_us_per_event=%.2f",
		r.Axis, label, r.Partitions, r.ValueBytes, r.Streams, guarantee, format, r.Records,
		r.EventsPerSec, r.MBPerSec, r.CPUUsPerEvent, r.PeakRSSMiB, r.Ceiling, r.OverCeiling,
		r.EventsPerBatch, r.RedisCPUUsPerEvent, flush, r.FetchBufferedMiB, r.HeapMiB, r.GCCycles,
		r.HostBusy, r.CeilingRedisCPUUsPerEvent)
}

var axisTitles = map[Axis]string{
	AxisPartitions: "partitions",
	AxisValues:     "value size",
	AxisFanout:     "streams ({key})",
	AxisGuarantee:  "delivery.guarantee",
	AxisFormats:    "stream.format",
}

// WriteAxesTables writes one Markdown table per axis, in the order the
// rows come, each row's CPU per event also as a multiple of the table's
// first row, and the value-size table with CPU per KiB of value.
func WriteAxesTables(w io.Writer, rows []AxisRow) {
	var b strings.Builder
	var cur Axis
	var first AxisRow
	for _, r := range rows {
		if r.Axis != cur {
			if cur != "" {
				b.WriteString("\n")
			}
			cur, first = r.Axis, r
			fmt.Fprintf(&b, "axis %s:\n\n", r.Axis)
			fmt.Fprintf(&b, "| %s | records | events/s | MB/s | CPU µs/event | × row 1 |", axisTitles[r.Axis])
			if r.Axis == AxisValues {
				b.WriteString(" CPU µs/KiB |")
			}
			b.WriteString(" peak RSS MiB | heap MiB | fetch buffer MiB | GCs | ceiling events/s | ÷ ceiling | events/batch | flushes by reason | Redis CPU µs/event | (at the ceiling) | host CPU busy | events/s by round |\n")
			b.WriteString("|---|---:|---:|---:|---:|---:|")
			if r.Axis == AxisValues {
				b.WriteString("---:|")
			}
			b.WriteString("---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---|\n")
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %.1f | %.2f | %.2f |", r.Row, thousands(r.Records), thousands(int64(r.EventsPerSec+0.5)),
			r.MBPerSec, r.CPUUsPerEvent, ratio(r.CPUUsPerEvent, first.CPUUsPerEvent))
		if r.Axis == AxisValues {
			fmt.Fprintf(&b, " %.2f |", r.CPUUsPerEvent*1024/float64(r.ValueBytes))
		}
		ceiling, over := "–", "–"
		if r.Ceiling > 0 {
			ceiling, over = thousands(int64(r.Ceiling+0.5)), fmt.Sprintf("%.2f", r.OverCeiling)
		}
		fmt.Fprintf(&b, " %.1f | %.1f | %.1f | %.0f | %s | %s | %.0f | %s | %.2f | %.2f | %.0f%% | %s |\n", r.PeakRSSMiB, r.HeapMiB, r.FetchBufferedMiB, r.GCCycles,
			ceiling, over, r.EventsPerBatch, strings.ReplaceAll(r.FlushReasons, ",", " "), r.RedisCPUUsPerEvent,
			r.CeilingRedisCPUUsPerEvent, r.HostBusy*100, roundsText(r.Rounds))
	}
	for _, r := range rows {
		if r.Note != "" {
			fmt.Fprintf(&b, "\n- %s %s: %s", r.Axis, r.Row, r.Note)
		}
	}
	b.WriteString("\n")
	io.WriteString(w, b.String())
}
