package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kafka-redis-connector/kafka-redis-connector/internal/latency"
)

// Measurement is one contender's figures.
type Measurement struct {
	Name         string  `json:"name"`
	Records      int64   `json:"records"`
	Seconds      float64 `json:"seconds"`
	EventsPerSec float64 `json:"events_per_second"`
	// OverCeiling is EventsPerSec over the ceiling's, of the same run.
	OverCeiling   float64 `json:"over_ceiling"`
	MBPerSec      float64 `json:"mb_per_second"` // value bytes only
	CPUUsPerEvent float64 `json:"cpu_us_per_event"`
	PeakRSSMiB    float64 `json:"peak_rss_mib"`
	// StartRSSMiB is the process's RSS when the measurement began (the
	// bench's own clients and the Go runtime), part of PeakRSSMiB.
	StartRSSMiB float64 `json:"start_rss_mib"`
	// LatencyP50Ms and LatencyP99Ms are end to end at the paced rate (see
	// Result.PacedRate), or a pipeline's round trip for the raw sink.
	LatencyP50Ms float64 `json:"latency_p50_ms"`
	LatencyP99Ms float64 `json:"latency_p99_ms"`
	Note         string  `json:"note,omitempty"`
	// Rounds has the events/s of every round; the figures above are the
	// best round's.
	Rounds []float64 `json:"rounds_events_per_second,omitempty"`
}

// meter measures CPU time, wall time and peak RSS from its start.
type meter struct {
	start    time.Time
	cpu      time.Duration
	rssReset bool
	startRSS uint64
}

// startMeter resets the peak RSS mark and starts the clocks.
func startMeter() meter {
	reset := resetPeakRSS()
	return meter{start: time.Now(), cpu: cpuTime(), rssReset: reset, startRSS: peakRSS()}
}

// restart starts the clocks again, keeping the peak RSS mark.
func (m *meter) restart() {
	m.start, m.cpu = time.Now(), cpuTime()
}

// stop returns the figures for records records of valueBytes bytes each.
func (m meter) stop(name string, records int64, valueBytes int) Measurement {
	el := time.Since(m.start)
	cpu := cpuTime() - m.cpu
	out := Measurement{Name: name, Records: records, Seconds: el.Seconds(), PeakRSSMiB: float64(peakRSS()) / (1 << 20),
		StartRSSMiB: float64(m.startRSS) / (1 << 20)}
	if el > 0 {
		out.EventsPerSec = float64(records) / el.Seconds()
		out.MBPerSec = float64(records) * float64(valueBytes) / el.Seconds() / 1e6
	}
	if records > 0 {
		out.CPUUsPerEvent = float64(cpu) / float64(time.Microsecond) / float64(records)
	}
	if !m.rssReset {
		out.Note = joinNote(out.Note, "peak RSS covers the whole process lifetime")
	}
	return out
}

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

func msOf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// LatencyRun is the outcome of the fixed-rate latency run.
type LatencyRun struct {
	Rate    int     `json:"rate"`
	Seconds float64 `json:"seconds"`
	Records int64   `json:"records"`
	P50Ms   float64 `json:"p50_ms"`
	P95Ms   float64 `json:"p95_ms"`
	P99Ms   float64 `json:"p99_ms"`
	MaxMs   float64 `json:"max_ms"`
	// ReadBack is from the value's send time to the entry's stream ID.
	ReadBack Quantiles `json:"read_back"`
	// KafkaOnly is a plain consumer's view of the same records: Kafka
	// record timestamp to poll, the share of the latency Kafka accounts for.
	KafkaOnly  Quantiles `json:"kafka_only"`
	Lost       int       `json:"lost"`
	Duplicated int       `json:"duplicated"`
	OutOfOrder int       `json:"out_of_order"`
}

// Quantiles are a latency distribution's key figures.
type Quantiles struct {
	P50Ms float64 `json:"p50_ms"`
	P99Ms float64 `json:"p99_ms"`
	MaxMs float64 `json:"max_ms"`
}

func quantilesOf(c latency.Counts) Quantiles {
	return Quantiles{P50Ms: msOf(c.Quantile(0.50)), P99Ms: msOf(c.Quantile(0.99)), MaxMs: msOf(c.Max())}
}

// Result is a whole bench run.
type Result struct {
	Brokers        string        `json:"brokers"`
	ExternalBroker bool          `json:"external_broker"`
	Redis          string        `json:"redis"`
	Records        int64         `json:"records"`
	ValueBytes     int           `json:"value_bytes"`
	Partitions     int32         `json:"partitions"`
	PacedRate      int           `json:"paced_rate"`
	Tuned          string        `json:"tuned_settings"`
	Runs           []Measurement `json:"runs"` // in the order of reportOrder
	Latency        *LatencyRun   `json:"latency,omitempty"`
}

func (r Result) run(name string) Measurement {
	for _, m := range r.Runs {
		if m.Name == name {
			return m
		}
	}
	return Measurement{Name: name}
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// Summary holds the figures of the bench line.
type Summary struct {
	Raw              float64 `json:"raw"`
	Naive            float64 `json:"naive"`
	Default          float64 `json:"default"`
	Tuned            float64 `json:"tuned"`
	Ceiling          float64 `json:"ceiling"`
	TunedOverRaw     float64 `json:"tuned/raw"`
	TunedOverNaiv    float64 `json:"tuned/naive"`
	DefaultOverTuned float64 `json:"default/tuned"`
	TunedOverCeiling float64 `json:"tuned/ceiling"`
	CPUUsPerEvent    float64 `json:"cpu_us_per_event"`
	RSSMiB           float64 `json:"rss_mib"`
}

// Summary returns the bench line's figures: events/s of each contender,
// the tuned connector's ratios, CPU per event and peak RSS.
func (r Result) Summary() Summary {
	tuned := r.run("tuned")
	s := Summary{
		Raw:           r.run("raw").EventsPerSec,
		Naive:         r.run("naive").EventsPerSec,
		Default:       r.run("default").EventsPerSec,
		Tuned:         tuned.EventsPerSec,
		Ceiling:       r.run("ceiling").EventsPerSec,
		CPUUsPerEvent: tuned.CPUUsPerEvent,
		RSSMiB:        tuned.PeakRSSMiB,
	}
	s.TunedOverRaw = ratio(s.Tuned, s.Raw)
	s.TunedOverNaiv = ratio(s.Tuned, s.Naive)
	s.DefaultOverTuned = ratio(s.Default, s.Tuned)
	s.TunedOverCeiling = ratio(s.Tuned, s.Ceiling)
	return s
}

// Line is the machine-readable bench line: space-separated key=value
// pairs after "bench:" (ParseLine reads it back). Keys are only ever added.
func (s Summary) Line() string {
	return fmt.Sprintf("bench: raw=%.0f naive=%.0f default=%.0f tuned=%.0f ceiling=%.0f tuned/raw=%.2f tuned/naive=%.1f"+
		" default/tuned=%.2f tuned/ceiling=%.2f cpu_us_per_event=%.2f rss_mib=%.1f",
		s.Raw, s.Naive, s.Default, s.Tuned, s.Ceiling, s.TunedOverRaw, s.TunedOverNaiv,
		s.DefaultOverTuned, s.TunedOverCeiling, s.CPUUsPerEvent, s.RSSMiB)
}

// ParseLine reads a bench line (Summary.Line) back. Unknown keys are
// skipped, so a line from a newer bench parses; every key of Summary must
// be there.
func ParseLine(line string) (Summary, error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(line), "bench:")
	if !ok {
		return Summary{}, fmt.Errorf("bench: line %q: does not start with \"bench:\"", line)
	}
	var s Summary
	fields := map[string]*float64{
		"raw": &s.Raw, "naive": &s.Naive, "default": &s.Default, "tuned": &s.Tuned, "ceiling": &s.Ceiling,
		"tuned/raw": &s.TunedOverRaw, "tuned/naive": &s.TunedOverNaiv, "default/tuned": &s.DefaultOverTuned,
		"tuned/ceiling": &s.TunedOverCeiling, "cpu_us_per_event": &s.CPUUsPerEvent, "rss_mib": &s.RSSMiB,
	}
	keys := []string{"raw", "naive", "default", "tuned", "ceiling", "tuned/raw", "tuned/naive", "default/tuned",
		"tuned/ceiling", "cpu_us_per_event", "rss_mib"}
	seen := map[string]bool{}
	for _, kv := range strings.Fields(rest) {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return Summary{}, fmt.Errorf("bench: line: %q is not key=value", kv)
		}
		dst, known := fields[k]
		if !known {
			continue
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return Summary{}, fmt.Errorf("bench: line: %s: %w", k, err)
		}
		*dst, seen[k] = f, true
	}
	for _, k := range keys {
		if !seen[k] {
			return Summary{}, fmt.Errorf("bench: line: no %s=", k)
		}
	}
	return s, nil
}

// JSON is the whole result with the bench line's figures on top.
func (r Result) JSON() ([]byte, error) {
	return json.MarshalIndent(struct {
		Summary
		Result Result `json:"details"`
	}{r.Summary(), r}, "", "  ")
}

// WriteTable writes the human-readable tables.
func (r Result) WriteTable(w io.Writer) {
	broker := "embedded kfake (in the bench process: the CPU and RSS of contenders measured there include it)"
	if r.ExternalBroker {
		broker = r.Brokers
	}
	fmt.Fprintf(w, "backlog: %d records x %d B values, %d partitions; Kafka %s; Redis %s\n",
		r.Records, r.ValueBytes, r.Partitions, broker, r.Redis)
	fmt.Fprintf(w, "tuned: %s; latency columns: end to end at %d events/s (raw: one pipeline's round trip)\n",
		r.Tuned, r.PacedRate)
	ceiling := r.run("ceiling").EventsPerSec
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "run\trecords\tevents/s\t÷ ceiling\tMB/s\tCPU µs/event\tpeak RSS MiB\t(at start)\tp50 ms\tp99 ms\tevents/s by round\t")
	for _, m := range r.Runs {
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%.2f\t%.1f\t%.2f\t%.1f\t%.1f\t%.2f\t%.2f\t%s\t\n", m.Name, m.Records, m.EventsPerSec,
			ratio(m.EventsPerSec, ceiling), m.MBPerSec, m.CPUUsPerEvent, m.PeakRSSMiB, m.StartRSSMiB, m.LatencyP50Ms, m.LatencyP99Ms,
			roundsText(m.Rounds))
	}
	_ = tw.Flush()
	for _, m := range r.Runs {
		if m.Note != "" {
			fmt.Fprintf(w, "  %s: %s\n", m.Name, m.Note)
		}
	}
	if a, t := r.run("tuned-avro"), r.run("tuned"); a.EventsPerSec > 0 && t.EventsPerSec > 0 {
		fmt.Fprintf(w, "avro: tuned-avro/tuned=%.2f events/s; decoding costs %+.2f µs CPU/event (%.2f vs %.2f)\n",
			ratio(a.EventsPerSec, t.EventsPerSec), a.CPUUsPerEvent-t.CPUUsPerEvent, a.CPUUsPerEvent, t.CPUUsPerEvent)
	}
	if x, t := r.run("tuned-exactly-once"), r.run("tuned"); x.EventsPerSec > 0 && t.EventsPerSec > 0 {
		fmt.Fprintf(w, "exactly_once: tuned-exactly-once/tuned=%.2f events/s; %+.2f µs CPU/event (%.2f vs %.2f); rule 5 (>= 0.8) %s\n",
			ratio(x.EventsPerSec, t.EventsPerSec), x.CPUUsPerEvent-t.CPUUsPerEvent, x.CPUUsPerEvent, t.CPUUsPerEvent,
			map[bool]string{true: "met", false: "missed"}[ratio(x.EventsPerSec, t.EventsPerSec) >= 0.8])
	}
	if l := r.Latency; l != nil {
		fmt.Fprintf(w, "latency run (defaults, %d events/s for %.0fs, %d records): p50=%.2fms p95=%.2fms p99=%.2fms max=%.2fms"+
			" (Kafka timestamp -> XADD acknowledged); read back: p50=%.2fms p99=%.2fms max=%.2fms (send -> stream ID);"+
			" Kafka alone: p50=%.2fms p99=%.2fms max=%.2fms (timestamp -> plain consumer's poll); lost=%d duplicated=%d out_of_order=%d\n",
			l.Rate, l.Seconds, l.Records, l.P50Ms, l.P95Ms, l.P99Ms, l.MaxMs,
			l.ReadBack.P50Ms, l.ReadBack.P99Ms, l.ReadBack.MaxMs, l.KafkaOnly.P50Ms, l.KafkaOnly.P99Ms, l.KafkaOnly.MaxMs,
			l.Lost, l.Duplicated, l.OutOfOrder)
	}
}

// ScalingCell is one cell of the scaling table.
type ScalingCell struct {
	Partitions   int32   `json:"partitions"`
	ValueBytes   int     `json:"value_bytes"`
	Records      int64   `json:"records"`
	RawEPS       float64 `json:"raw_events_per_second"`
	EventsPerSec float64 `json:"events_per_second"`
	// OverCeiling is EventsPerSec over the ceiling's, of the same run.
	OverCeiling   float64 `json:"over_ceiling"`
	MBPerSec      float64 `json:"mb_per_second"`
	CPUUsPerEvent float64 `json:"cpu_us_per_event"`
	PeakRSSMiB    float64 `json:"peak_rss_mib"`
}

// WriteScalingTable writes the scaling table as Markdown.
func WriteScalingTable(w io.Writer, cells []ScalingCell) {
	var b strings.Builder
	b.WriteString("| partitions | value | records | raw events/s | tuned events/s | tuned/raw | MB/s | CPU µs/event | peak RSS MiB |\n")
	b.WriteString("|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, c := range cells {
		fmt.Fprintf(&b, "| %d | %s | %d | %.0f | %.0f | %.2f | %.1f | %.2f | %.0f |\n", c.Partitions, sizeText(c.ValueBytes),
			c.Records, c.RawEPS, c.EventsPerSec, ratio(c.EventsPerSec, c.RawEPS), c.MBPerSec, c.CPUUsPerEvent, c.PeakRSSMiB)
	}
	io.WriteString(w, b.String())
}

func roundsText(r []float64) string {
	parts := make([]string, len(r))
	for i, v := range r {
		parts[i] = fmt.Sprintf("%.0f", v)
	}
	return strings.Join(parts, " ")
}

func sizeText(n int) string {
	if n >= 1024 && n%1024 == 0 {
		return fmt.Sprintf("%d KiB", n/1024)
	}
	return fmt.Sprintf("%d B", n)
}
