package loadgen

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Config describes the load to produce.
type Config struct {
	Topic string
	// Partitions is the topic's partition count; records are spread over
	// all of them.
	Partitions int32
	// Rate is in events per second; 0 produces as fast as Kafka accepts.
	Rate int
	// Duration bounds the run; 0 means Count alone bounds it.
	Duration time.Duration
	// Count bounds the number of records; 0 means Duration alone bounds it.
	Count int64
	// Size is the value size in bytes (at least the header's length).
	Size int
	// Keys is the number of distinct record keys; key i goes to partition
	// i mod Partitions. 0 sends records without a key, round robin.
	Keys int
	// Run tells this run's records apart from others' in the same stream;
	// empty picks one from the clock.
	Run string
}

// Generator produces the records of one run and remembers which were
// acknowledged, so Verify can check them.
type Generator struct {
	cfg   Config
	keys  [][]byte
	start time.Time

	sent, acked, failed atomic.Int64

	mu       sync.Mutex
	next     []int64           // next sequence per partition
	lost     map[int32][]int64 // sequences Kafka did not acknowledge
	firstErr error
}

// New checks cfg and returns a Generator for it.
func New(cfg Config) (*Generator, error) {
	switch {
	case cfg.Topic == "":
		return nil, errors.New("loadgen: no topic")
	case cfg.Partitions <= 0:
		return nil, fmt.Errorf("loadgen: partitions must be positive, got %d", cfg.Partitions)
	case cfg.Rate < 0:
		return nil, fmt.Errorf("loadgen: rate must not be negative, got %d", cfg.Rate)
	case cfg.Duration <= 0 && cfg.Count <= 0:
		return nil, errors.New("loadgen: need a duration or a count")
	case cfg.Size < 0 || cfg.Keys < 0:
		return nil, errors.New("loadgen: size and keys must not be negative")
	}
	if cfg.Run == "" {
		cfg.Run = strconv.FormatInt(time.Now().UnixNano()%(1<<40), 36)
	}
	g := &Generator{cfg: cfg, next: make([]int64, cfg.Partitions), lost: make(map[int32][]int64)}
	for i := range cfg.Keys {
		g.keys = append(g.keys, []byte("key-"+strconv.Itoa(i)))
	}
	return g, nil
}

// Config returns the generator's configuration, with the run filled in.
func (g *Generator) Config() Config { return g.cfg }

// ClientOpts are the producer options Run relies on: the generator picks
// each record's partition itself, so it knows the order of every partition.
// Linger trades producer batching for latency (franz-go's default is 10ms).
func ClientOpts(linger time.Duration) []kgo.Opt {
	return []kgo.Opt{
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerLinger(linger),
		kgo.ProducerBatchMaxBytes(1 << 20),
	}
}

// tick is how often a rate-limited run sends what is due.
const tick = 5 * time.Millisecond

// Run produces until the duration or count is reached or ctx ends, then
// waits for Kafka's acknowledgements. cl must be built with ClientOpts. A
// failed produce is counted, not fatal; Run returns an error only when the
// client fails to flush.
func (g *Generator) Run(ctx context.Context, cl *kgo.Client) error {
	g.start = time.Now()
	var deadline <-chan time.Time
	if g.cfg.Duration > 0 {
		t := time.NewTimer(g.cfg.Duration)
		defer t.Stop()
		deadline = t.C
	}
	var ticker *time.Ticker
	var ticks <-chan time.Time
	if g.cfg.Rate > 0 {
		ticker = time.NewTicker(tick)
		defer ticker.Stop()
		ticks = ticker.C
	}
	var n int64
	done := func() bool { return g.cfg.Count > 0 && n >= g.cfg.Count }
produce:
	for !done() {
		due := int64(1 << 10) // unlimited rate: send in chunks, checking the clock between them
		if ticks != nil {
			select {
			case <-ctx.Done():
				break produce
			case <-deadline:
				break produce
			case now := <-ticks:
				due = int64(now.Sub(g.start).Seconds()*float64(g.cfg.Rate)) - n
			}
		} else {
			select {
			case <-ctx.Done():
				break produce
			case <-deadline:
				break produce
			default:
			}
		}
		for i := int64(0); i < due && !done(); i++ {
			g.produce(ctx, cl, n)
			n++
		}
	}
	// Wait for what is in flight with a fresh deadline: the records were
	// sent and must be accounted for even when ctx ended.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := cl.Flush(fctx); err != nil {
		return fmt.Errorf("loadgen: flush: %w", err)
	}
	return nil
}

func (g *Generator) produce(ctx context.Context, cl *kgo.Client, n int64) {
	rec := &kgo.Record{Topic: g.cfg.Topic}
	if len(g.keys) > 0 {
		k := int(n % int64(len(g.keys)))
		rec.Key = g.keys[k]
		rec.Partition = int32(k % int(g.cfg.Partitions))
	} else {
		rec.Partition = int32(n % int64(g.cfg.Partitions))
	}
	// Only this goroutine assigns sequences; the lock is for readers.
	g.mu.Lock()
	seq := g.next[rec.Partition]
	g.next[rec.Partition]++
	g.mu.Unlock()
	now := time.Now()
	rec.Timestamp = now
	rec.Value = AppendValue(make([]byte, 0, max(g.cfg.Size, 48)), g.cfg.Run, rec.Partition, seq, now, g.cfg.Size)
	g.sent.Add(1)
	// Produce blocks while franz-go's buffer is full: backpressure keeps
	// the rate honest rather than queueing without bound.
	cl.Produce(context.WithoutCancel(ctx), rec, func(r *kgo.Record, err error) {
		if err == nil {
			g.acked.Add(1)
			return
		}
		g.failed.Add(1)
		g.mu.Lock()
		g.lost[r.Partition] = append(g.lost[r.Partition], seq)
		if g.firstErr == nil {
			g.firstErr = err
		}
		g.mu.Unlock()
	})
}

// Progress is a generator's state at one instant.
type Progress struct {
	Sent, Acked, Failed int64
	Elapsed             time.Duration
	// Total is the expected number of records (0 when unknown).
	Total int64
	// Remaining is the time left (-1 when unknown).
	Remaining time.Duration
	FirstErr  error
}

// Progress returns the generator's state now.
func (g *Generator) Progress() Progress {
	p := Progress{Sent: g.sent.Load(), Acked: g.acked.Load(), Failed: g.failed.Load(), Remaining: -1}
	if !g.start.IsZero() {
		p.Elapsed = time.Since(g.start)
	}
	g.mu.Lock()
	p.FirstErr = g.firstErr
	g.mu.Unlock()
	switch {
	case g.cfg.Count > 0:
		p.Total = g.cfg.Count
		if p.Sent > 0 && p.Elapsed > 0 {
			p.Remaining = time.Duration(float64(p.Elapsed) * float64(p.Total-p.Sent) / float64(p.Sent))
		}
	case g.cfg.Duration > 0:
		p.Remaining = max(g.cfg.Duration-p.Elapsed, 0)
		if g.cfg.Rate > 0 {
			p.Total = int64(g.cfg.Duration.Seconds() * float64(g.cfg.Rate))
		}
	}
	return p
}

// Line renders the progress as one line: sent, events/s, errors, ETA.
func (p Progress) Line() string {
	eps := 0.0
	if p.Elapsed > 0 {
		eps = float64(p.Acked) / p.Elapsed.Seconds()
	}
	s := fmt.Sprintf("sent=%d acked=%d events/s=%.0f errors=%d elapsed=%s", p.Sent, p.Acked, eps, p.Failed,
		p.Elapsed.Truncate(time.Second))
	if p.Total > 0 {
		s += fmt.Sprintf(" done=%3.0f%%", 100*float64(min(p.Sent, p.Total))/float64(p.Total))
	}
	if p.Remaining >= 0 {
		s += " eta=" + p.Remaining.Round(time.Second).String()
	}
	return s
}

// Expected calls fn for every record Kafka acknowledged, partition by
// partition in sequence order. Call it after Run returned.
func (g *Generator) Expected(fn func(partition int32, seq int64)) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for p, n := range g.next {
		lost := make(map[int64]bool, len(g.lost[int32(p)]))
		for _, s := range g.lost[int32(p)] {
			lost[s] = true
		}
		for s := range n {
			if !lost[s] {
				fn(int32(p), s)
			}
		}
	}
}

// keysOf returns the record keys that go to partition p (nil when records
// have none).
func (g *Generator) keysOf(p int32) [][]byte {
	var out [][]byte
	for i, k := range g.keys {
		if int32(i%int(g.cfg.Partitions)) == p {
			out = append(out, k)
		}
	}
	return out
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
