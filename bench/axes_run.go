package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
)

// cellResult is a cell's best round and what every round contributes.
type cellResult struct {
	best   axisRound
	peak   float64 // the highest peak RSS of all rounds
	rounds []float64
}

// RunAxes measures the axes tables: for every backlog the rows need (see
// AxesConfig.plan), a fresh topic is preloaded, then each round drains it
// with every cell of that backlog — the connector binary in a process of
// its own, as deployed — and writes the same entries from memory as fast
// as Redis takes them (the ceiling). Each cell reports its fastest round.
// cfg supplies Kafka, Redis, the binary, the tuned settings, the rounds
// and the timeouts.
func RunAxes(ctx context.Context, cfg Config, ac AxesConfig) ([]AxisRow, error) {
	if err := ac.validate(); err != nil {
		return nil, err
	}
	switch {
	case cfg.ConnectorBinary == "":
		return nil, fmt.Errorf("%w: the axes measure the connector binary in its own process; --binary is empty", ErrInvalidConfig)
	case cfg.Rounds <= 0 || cfg.PhaseTimeout <= 0:
		return nil, fmt.Errorf("%w: rounds and phase timeout must be positive", ErrInvalidConfig)
	}
	if ac.ProfileDir != "" {
		if err := os.MkdirAll(ac.ProfileDir, 0o755); err != nil {
			return nil, fmt.Errorf("bench: axes profiles: %w", err)
		}
	}
	e, err := newEnv(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer e.close(ctx)
	specs := ac.plan()
	order, cells := backlogsOf(specs)
	registry := ac.SchemaRegistry
	if registry == "" && slices.ContainsFunc(order, func(b backlogSpec) bool { return b.Format != "" }) {
		reg := srfake.New()
		defer reg.Close()
		registry = reg.URL()
	}
	var batch *config.Batch
	if !ac.Defaults {
		b := cfg.Tuned
		batch = &b
	}
	results := map[axisCell]*cellResult{}
	ceilings := map[backlogSpec]float64{}
	ceilingRedis := map[backlogSpec]float64{}
	for i, b := range order {
		ceiling, err := e.measureBacklog(ctx, i, b, cells[b], batch, registry, ac.ProfileDir, results)
		if err != nil {
			return nil, err
		}
		ceilings[b], ceilingRedis[b] = ceiling.EventsPerSec, ceiling.redisUs
	}
	rows := make([]AxisRow, 0, len(specs))
	for _, s := range specs {
		r, b := results[s.cell], s.cell.backlog
		m := r.best.m
		row := AxisRow{Axis: s.axis, Row: s.label, Partitions: b.Partitions, ValueBytes: b.ValueBytes, Streams: b.Streams,
			Guarantee: s.cell.guarantee, Format: b.Format, Records: m.Records,
			EventsPerSec: m.EventsPerSec, MBPerSec: m.MBPerSec, CPUUsPerEvent: m.CPUUsPerEvent, PeakRSSMiB: r.peak,
			Ceiling: ceilings[b], EventsPerBatch: r.best.eventsPerBatch, RedisCPUUsPerEvent: r.best.redisUs, Rounds: r.rounds,
			FlushReasons: flushShares(r.best.flushes), FetchBufferedMiB: r.best.fetchBufferedMiB, HeapMiB: r.best.heapMiB,
			GCCycles: r.best.gcCycles, HostBusy: r.best.hostBusy, CeilingRedisCPUUsPerEvent: ceilingRedis[b]}
		row.OverCeiling = ratio(row.EventsPerSec, row.Ceiling)
		rows = append(rows, row)
	}
	return rows, nil
}

// ceilingResult is a backlog's best ceiling and redis-server's CPU per
// entry during it.
type ceilingResult struct {
	EventsPerSec float64
	redisUs      float64
}

// measureBacklog preloads one backlog and measures its cells and its
// ceiling, cfg.Rounds times each, merging into results. It returns the
// best ceiling.
func (e *env) measureBacklog(ctx context.Context, i int, b backlogSpec, cells []axisCell, batch *config.Batch,
	registry, profileDir string, results map[axisCell]*cellResult) (ceiling ceilingResult, err error) {
	topic := e.topic("ax" + strconv.Itoa(i))
	if err = e.createTopic(ctx, topic, b.Partitions); err != nil {
		return ceiling, err
	}
	fmt.Fprintf(e.log, "bench: axes: preloading %d records of %d B into %s (%d partitions, streams %d, format %q)\n",
		b.Records, b.ValueBytes, topic, b.Partitions, b.Streams, b.Format)
	start := time.Now()
	if err = e.preloadAxis(ctx, b, topic, registry); err != nil {
		return ceiling, err
	}
	fmt.Fprintf(e.log, "bench: axes: preloaded in %s\n", time.Since(start).Round(time.Millisecond))
	var plan *ceilingInput
	var first []any // a format cell's first entry: the ceiling's
	for round := 1; round <= e.cfg.Rounds; round++ {
		for _, c := range cells {
			inst := instance(c.name(), round)
			m, firstEntry, err := e.drainAxisCell(ctx, c, topic, inst, batch, registry, first == nil && b.Format != "")
			if err != nil {
				return ceiling, fmt.Errorf("axes %s round %d: %w", c.name(), round, err)
			}
			if firstEntry != nil {
				first = firstEntry
			}
			fmt.Fprintf(e.log, "bench: axes: round %d/%d: %s: %.0f events/s, %.2f µs CPU/event, peak RSS %.1f MiB (heap %.1f, fetch buffer %.1f, %.0f GCs),"+
				" %.0f events/batch (%s), redis %.2f µs/event\n",
				round, e.cfg.Rounds, c.name(), m.m.EventsPerSec, m.m.CPUUsPerEvent, m.m.PeakRSSMiB, m.heapMiB, m.fetchBufferedMiB, m.gcCycles,
				m.eventsPerBatch, flushShares(m.flushes), m.redisUs)
			r := results[c]
			if r == nil {
				r = &cellResult{}
				results[c] = r
			}
			r.peak = max(r.peak, m.m.PeakRSSMiB)
			if m.m.EventsPerSec > r.best.m.EventsPerSec {
				r.best = m
			}
			r.rounds = append(r.rounds, math.Round(m.m.EventsPerSec))
		}
		if plan == nil {
			var err error
			if plan, err = e.axisCeilingInput(b, topic, first); err != nil {
				return ceiling, err
			}
		}
		m, redisUs, err := e.axisCeiling(ctx, plan, topic, b.ValueBytes)
		if err != nil {
			return ceiling, fmt.Errorf("axes ceiling of %s: %w", topic, err)
		}
		fmt.Fprintf(e.log, "bench: axes: round %d/%d: ceiling: %.0f events/s, redis %.2f µs/event\n", round, e.cfg.Rounds, m.EventsPerSec, redisUs)
		if m.EventsPerSec > ceiling.EventsPerSec {
			ceiling = ceilingResult{EventsPerSec: m.EventsPerSec, redisUs: redisUs}
		}
	}
	if profileDir != "" {
		for _, c := range cells {
			if err := e.profileAxisCell(ctx, c, topic, batch, registry, profileDir); err != nil {
				return ceiling, err
			}
		}
	}
	return ceiling, e.deleteTopic(ctx, topic)
}

// ceilingInput is a backlog's XADDs, encoded as RESP, for the ceiling.
type ceilingInput struct {
	buf  []byte
	ends []int
}

// axisCeilingInput encodes the backlog's entries as the connector writes
// them: for a raw backlog the same entries (one stream, or one per key);
// for a format one, whose entries are the decoded fields, the connector's
// first entry once per record (every entry the same, as with
// redis-benchmark, which costs Redis no less than distinct ones).
func (e *env) axisCeilingInput(b backlogSpec, topic string, first []any) (*ceilingInput, error) {
	stream := topic + ":ceiling"
	var cmds [][]any
	switch {
	case b.Format != "":
		if first == nil {
			return nil, fmt.Errorf("bench: axes: no entry of %s to build its ceiling from", topic)
		}
		entry := append([]any{"xadd", stream, "*"}, first...)
		cmds = make([][]any, b.Records)
		for i := range cmds {
			cmds[i] = entry
		}
	default:
		keys := max(e.cfg.Keys, int(b.Partitions))
		if b.Streams > 0 {
			keys = b.Streams
		}
		var err error
		if cmds, err = rawEntries(topic, stream, b.Records, b.ValueBytes, b.Partitions, keys); err != nil {
			return nil, err
		}
		if b.Streams > 0 {
			// rawEntries gives record i the key key-<i mod keys>: its stream.
			names := make([]string, b.Streams)
			for k := range names {
				names[k] = stream + ":key-" + strconv.Itoa(k)
			}
			for i, args := range cmds {
				args[1] = names[i%b.Streams]
			}
		}
	}
	buf, ends, err := encodeRESP(nil, cmds)
	if err != nil {
		return nil, err
	}
	return &ceilingInput{buf: buf, ends: ends}, nil
}

// axisCeiling writes the encoded entries over each of ceilingConns
// connection counts and returns the fastest, with redis-server's CPU per
// entry during it (0 without INFO cpu).
func (e *env) axisCeiling(ctx context.Context, in *ceilingInput, topic string, valueBytes int) (Measurement, float64, error) {
	var best Measurement
	var bestRedis float64
	for _, conns := range ceilingConns {
		r0, rerr := e.redisCPU(ctx)
		m, err := ceilingRun(ctx, e.cfg.RedisAddr, in.buf, in.ends, conns, valueBytes)
		if err != nil {
			return m, 0, err
		}
		r1, rerr1 := e.redisCPU(ctx)
		if err := e.dropStreams(ctx, topic+":ceiling*"); err != nil {
			return m, 0, err
		}
		if m.EventsPerSec > best.EventsPerSec {
			best, bestRedis = m, 0
			if rerr == nil && rerr1 == nil && m.Records > 0 {
				bestRedis = float64(r1-r0) / float64(time.Microsecond) / float64(m.Records)
			}
		}
	}
	return best, bestRedis, nil
}

// axisRound is one drain's figures.
type axisRound struct {
	m              Measurement
	eventsPerBatch float64
	redisUs        float64
	flushes        map[string]float64 // batches flushed during the drain, by reason
	// Peaks sampled every 200 ms, and garbage collections, of the drain.
	fetchBufferedMiB, heapMiB, gcCycles float64
	// hostBusy is the share of the machine's CPU busy during the drain.
	hostBusy float64
}

// drainAxisCell runs the connector binary on the backlog with the cell's
// settings and measures it from joining the group until it has written
// every record (its /stats counter): CPU and peak RSS of the process,
// records per batch from its counters, redis-server's CPU per record. With
// keepFirst it also returns the first entry written, as XADD arguments.
func (e *env) drainAxisCell(ctx context.Context, c axisCell, topic, inst string, batch *config.Batch, registry string,
	keepFirst bool) (out axisRound, first []any, err error) {
	b := c.backlog
	stream := topic + ":" + inst
	var extra []string
	if b.Streams > 0 {
		extra = append(extra, "KRC_STREAM_KEY={topic}:"+inst+":{key}")
	}
	if c.guarantee != "" {
		extra = append(extra, "KRC_DELIVERY_GUARANTEE="+c.guarantee)
	}
	if b.Format != "" {
		extra = append(extra, "KRC_STREAM_FORMAT="+b.Format, "KRC_SCHEMA_REGISTRY_URL="+registry)
	}
	child, err := e.startChild(inst, batch, []string{topic}, nil, extra...)
	if err != nil {
		return out, nil, err
	}
	defer func() {
		if serr := child.stop(40 * time.Second); err == nil {
			err = serr
		}
		if derr := e.dropStreams(context.WithoutCancel(ctx), stream+"*"); err == nil {
			err = derr
		}
	}()
	if err := child.waitReady(ctx, e.cfg.PhaseTimeout); err != nil {
		return out, nil, err
	}
	hc := &http.Client{Timeout: 5 * time.Second}
	defer hc.CloseIdleConnections()
	pid := child.cmd.Process.Pid
	s0, err := childStats(ctx, hc, child.http)
	if err != nil {
		return out, nil, err
	}
	f0, err := childMetrics(ctx, hc, child.http)
	if err != nil {
		return out, nil, err
	}
	u0, err := readProcUsage(pid)
	if err != nil {
		return out, nil, err
	}
	// A Redis without INFO cpu (miniredis) leaves redisUs 0, a system
	// without /proc/stat hostBusy.
	r0, rerr := e.redisCPU(ctx)
	h0, herr := readHostCPU()
	t0 := time.Now()
	var s1 stats
	var serr error
	// Every 10 ms: a /stats request costs the connector tens of
	// microseconds, under 0.5% of a core at this rate.
	// And every 200 ms the gauges of /metrics, for their peaks.
	polls := 0
	sample := func(m metricsSample) {
		out.fetchBufferedMiB = max(out.fetchBufferedMiB, m.values[metricFetchBuffered]/(1<<20))
		out.heapMiB = max(out.heapMiB, m.values[metricHeapInuse]/(1<<20))
	}
	if err := child.wait(ctx, "drain the backlog", 10*time.Millisecond, e.cfg.PhaseTimeout, func() bool {
		if polls++; polls%20 == 0 {
			var m metricsSample
			if m, serr = childMetrics(ctx, hc, child.http); serr != nil {
				return true
			}
			sample(m)
		}
		s1, serr = childStats(ctx, hc, child.http)
		return serr != nil || s1.Throughput.Written >= uint64(b.Records)
	}); err != nil {
		return out, nil, err
	}
	el := time.Since(t0)
	if serr != nil {
		return out, nil, serr
	}
	u1, err := readProcUsage(pid)
	if err != nil {
		return out, nil, err
	}
	r1, rerr1 := e.redisCPU(ctx)
	if h1, err := readHostCPU(); err == nil && herr == nil {
		out.hostBusy = busyShare(h0, h1)
	}
	f1, err := childMetrics(ctx, hc, child.http)
	if err != nil {
		return out, nil, err
	}
	sample(f1)
	out.gcCycles = f1.values[metricGCCycles] - f0.values[metricGCCycles]
	out.flushes = map[string]float64{}
	for k, v := range f1.flushes {
		if d := v - f0.flushes[k]; d > 0 {
			out.flushes[k] = d
		}
	}
	records := b.Records - int64(s0.Throughput.Written)
	out.m = childMeasurement(c.name(), records, b.ValueBytes, el, u0, u1)
	out.eventsPerBatch = ratio(float64(s1.Throughput.Written-s0.Throughput.Written), float64(s1.Batching.Batches-s0.Batching.Batches))
	if records > 0 && rerr == nil && rerr1 == nil {
		out.redisUs = float64(r1-r0) / float64(time.Microsecond) / float64(records)
	}
	if err := e.checkAxisStreams(ctx, b, topic, stream, child.exactlyOnce); err != nil {
		return out, nil, err
	}
	if keepFirst {
		first, err = e.firstEntry(ctx, stream)
	}
	return out, first, err
}

// checkAxisStreams checks what the connector wrote from the backlog's
// topic: every record, and under exactly_once each once (checkDeliveredIn),
// in the stream, or, fanned out, in the streams stream:<key>, one a key.
// Raw values are loadgen's; a schema format's entries hold its decoded
// fields, and the metadata fields name the record.
func (e *env) checkAxisStreams(ctx context.Context, b backlogSpec, topic, stream string, exactlyOnce bool) error {
	of := loadgenRecords(b.Records)
	if b.Format != "" {
		of = kafkaRecords(topic, b.Partitions, b.Records)
	}
	if b.Streams == 0 {
		return e.checkDeliveredIn(ctx, []string{stream}, b.Records, exactlyOnce, e.cfg.PhaseTimeout, of)
	}
	var streams []string
	iter := e.rdb.Scan(ctx, 0, stream+":*", 10000).Iterator()
	for iter.Next(ctx) {
		streams = append(streams, iter.Val())
	}
	if err := iter.Err(); err != nil {
		return fmt.Errorf("bench: scan %s:*: %w", stream, err)
	}
	// SCAN may return a key more than once.
	slices.Sort(streams)
	streams = slices.Compact(streams)
	if want := min(int64(b.Streams), b.Records); int64(len(streams)) != want {
		return fmt.Errorf("bench: the records went to %d streams %s:*, want %d", len(streams), stream, want)
	}
	return e.checkDeliveredIn(ctx, streams, b.Records, exactlyOnce, e.cfg.PhaseTimeout, of)
}

// firstEntry returns the fields of the stream's first entry as XADD
// arguments, in name order.
func (e *env) firstEntry(ctx context.Context, stream string) ([]any, error) {
	msgs, err := e.rdb.XRangeN(ctx, stream, "-", "+", 1).Result()
	if err != nil || len(msgs) == 0 {
		return nil, fmt.Errorf("bench: first entry of %s: %d entries, %v", stream, len(msgs), err)
	}
	names := make([]string, 0, len(msgs[0].Values))
	for k := range msgs[0].Values {
		names = append(names, k)
	}
	slices.Sort(names)
	out := make([]any, 0, 2*len(names))
	for _, k := range names {
		out = append(out, k, fmt.Sprint(msgs[0].Values[k]))
	}
	return out, nil
}

// stats is the part of the connector's /stats the axes read.
type stats struct {
	Throughput struct {
		Written uint64 `json:"written"`
	} `json:"throughput"`
	Batching struct {
		Batches uint64 `json:"batches"`
	} `json:"batching"`
}

func childStats(ctx context.Context, hc *http.Client, addr string) (stats, error) {
	var s stats
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/stats", nil)
	if err != nil {
		return s, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return s, fmt.Errorf("bench: connector /stats: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return s, fmt.Errorf("bench: connector /stats: %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		return s, fmt.Errorf("bench: connector /stats: %w", err)
	}
	return s, nil
}

// redisCPU is redis-server's CPU time so far (INFO cpu).
func (e *env) redisCPU(ctx context.Context) (time.Duration, error) {
	info, err := e.rdb.Info(ctx, "cpu").Result()
	if err != nil {
		return 0, fmt.Errorf("bench: redis info cpu: %w", err)
	}
	return parseRedisCPU(info)
}

// parseRedisCPU returns used_cpu_sys + used_cpu_user (seconds, as INFO
// prints them) from INFO's text.
func parseRedisCPU(info string) (time.Duration, error) {
	var total time.Duration
	seen := 0
	sc := bufio.NewScanner(strings.NewReader(info))
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":")
		if !ok || (k != "used_cpu_sys" && k != "used_cpu_user") {
			continue
		}
		s, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return 0, fmt.Errorf("bench: redis info %s: %w", k, err)
		}
		total += time.Duration(s * float64(time.Second))
		seen++
	}
	if seen != 2 {
		return 0, fmt.Errorf("bench: redis info: no used_cpu_sys and used_cpu_user in %q", info)
	}
	return total, nil
}

// metricsSample is what the axes read from the connector's /metrics:
// krc_batches_flushed_total by reason, and the sum over labels of each of
// sampledMetrics.
type metricsSample struct {
	flushes map[string]float64
	values  map[string]float64
}

// The gauges and counters sampled during a drain: records franz-go holds
// fetched ahead of the connector, the Go heap, and garbage collections.
const (
	metricFetchBuffered = "krc_kafka_buffered_fetch_bytes"
	metricHeapInuse     = "go_memstats_heap_inuse_bytes"
	metricGCCycles      = "go_gc_duration_seconds_count"
)

var sampledMetrics = []string{metricFetchBuffered, metricHeapInuse, metricGCCycles}

func childMetrics(ctx context.Context, hc *http.Client, addr string) (metricsSample, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return metricsSample{}, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return metricsSample{}, fmt.Errorf("bench: connector /metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return metricsSample{}, fmt.Errorf("bench: connector /metrics: %s", resp.Status)
	}
	return parseMetrics(resp.Body)
}

// parseMetrics reads Prometheus's text format: krc_batches_flushed_total
// by its reason label, and each of sampledMetrics summed over its labels.
func parseMetrics(r io.Reader) (metricsSample, error) {
	const flushPrefix = `krc_batches_flushed_total{reason="`
	out := metricsSample{flushes: map[string]float64{}, values: map[string]float64{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, rest, _ := strings.Cut(line, " ")
		label := ""
		if i := strings.IndexByte(name, '{'); i >= 0 {
			// Label values may hold spaces: the value follows the last '}'.
			j := strings.LastIndexByte(line, '}')
			if j < i {
				return out, fmt.Errorf("bench: /metrics: malformed line %q", line)
			}
			name, label, rest = line[:i], line[i:j+1], strings.TrimSpace(line[j+1:])
		}
		isFlush := name+label != "" && strings.HasPrefix(line, flushPrefix)
		if !isFlush && !slices.Contains(sampledMetrics, name) {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
		if err != nil {
			return out, fmt.Errorf("bench: /metrics: %s: %w", name, err)
		}
		if isFlush {
			reason, _, _ := strings.Cut(strings.TrimPrefix(line, flushPrefix), `"`)
			out.flushes[reason] = v
			continue
		}
		out.values[name] += v
	}
	return out, sc.Err()
}

// flushShares renders batches by reason as shares of all of them, largest
// first ("size:0.97,time:0.03"); "" when there were none.
func flushShares(m map[string]float64) string {
	var total float64
	reasons := make([]string, 0, len(m))
	for k, v := range m {
		total += v
		reasons = append(reasons, k)
	}
	if total == 0 {
		return ""
	}
	slices.SortFunc(reasons, func(a, b string) int {
		if m[a] != m[b] {
			if m[a] > m[b] {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, len(reasons))
	for i, k := range reasons {
		parts[i] = fmt.Sprintf("%s:%.2f", k, m[k]/total)
	}
	return strings.Join(parts, ",")
}

// profileAxisCell drains the backlog once more with the cell's settings,
// in the bench process (a profile of the child would need its
// cooperation; the code on the hot path is the same), and writes a CPU
// profile of the drain to dir/<cell>.pprof.
func (e *env) profileAxisCell(ctx context.Context, c axisCell, topic string, batch *config.Batch, registry, dir string) error {
	b := c.backlog
	inst := c.name() + "-profile"
	bc := config.Default().Batch
	if batch != nil {
		bc = *batch
	}
	cfg, err := e.connectorConfig(inst, bc, []string{topic})
	if err != nil {
		return err
	}
	if b.Streams > 0 {
		cfg.Stream.Key = "{topic}:" + inst + ":{key}"
	}
	if c.guarantee != "" {
		cfg.Delivery.Guarantee = c.guarantee
	}
	if b.Format != "" {
		cfg.Stream.Format, cfg.SchemaRegistry.URL = b.Format, registry
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	path := filepath.Join(dir, c.name()+".pprof")
	r, m, err := e.drainConnector(ctx, cfg, b.Records, b.ValueBytes, profiles{cpu: path})
	if err != nil {
		return fmt.Errorf("axes profile %s: %w", c.name(), err)
	}
	err = r.close()
	if derr := e.dropStreams(context.WithoutCancel(ctx), topic+":"+inst+"*"); err == nil {
		err = derr
	}
	fmt.Fprintf(e.log, "bench: axes: profiled %s in the bench process: %.0f events/s, %.2f µs CPU/event; %s\n",
		c.name(), m.EventsPerSec, m.CPUUsPerEvent, path)
	return err
}
