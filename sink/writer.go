package sink

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
)

// Result reports, record by record, what a Write achieved.
type Result struct {
	// Errs has one entry per record of the batch: nil when the record is in
	// Redis, else why it is not. Retryable(Errs[i]) tells the two kinds apart.
	Errs []error
	// Streams has the target stream key of each record ("" when it could not
	// be rendered).
	Streams []string
}

// Written counts the records that are in Redis.
func (r Result) Written() int {
	n := 0
	for _, err := range r.Errs {
		if err == nil {
			n++
		}
	}
	return n
}

// Writer appends records to Redis streams, one XADD per record and one
// pipelined round trip per Write. It is safe for concurrent use: each Write
// takes its scratch buffers from a pool.
type Writer struct {
	client   redis.Cmdable
	key      *StreamKeyTemplate
	fallback *StreamKeyTemplate
	mapping  *FieldMapping
	trim     []any // the MAXLEN clause, shared by every XADD
	scratch  sync.Pool
}

// writeScratch holds the buffers one Write reuses from the last. The arena
// holds formatted metadata that the commands point into: it is written
// again only after the pipeline that used it has been sent.
type writeScratch struct {
	keyBuf []byte
	arena  []byte
	cmds   []*redis.Cmd
	index  []int
}

// NewWriter builds a Writer for the stream configuration.
func NewWriter(client redis.Cmdable, cfg config.Stream, opts ...WriterOption) (*Writer, error) {
	key, err := ParseStreamKeyTemplate(cfg.Key)
	if err != nil {
		return nil, err
	}
	w := &Writer{client: client, key: key}
	w.scratch.New = func() any { return new(writeScratch) }
	if cfg.FallbackKey != "" {
		if w.fallback, err = ParseStreamKeyTemplate(cfg.FallbackKey); err != nil {
			return nil, err
		}
	}
	if w.mapping, err = NewFieldMapping(cfg); err != nil {
		return nil, err
	}
	if cfg.MaxLen > 0 {
		op := "="
		if cfg.ApproxTrim {
			op = "~"
		}
		w.trim = []any{"maxlen", op, strconv.FormatInt(cfg.MaxLen, 10)}
	}
	for _, o := range opts {
		if err := o(w); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// Write appends recs, in order, in one pipeline. Every command's reply is
// read: a rejected entry fails only its own record. The returned error is
// non-nil when at least one record failed for a retryable reason (then it is
// that reason); records failing permanently are reported only in Result.
func (w *Writer) Write(ctx context.Context, recs []*kgo.Record) (Result, error) {
	res := Result{Errs: make([]error, len(recs)), Streams: make([]string, len(recs))}
	sc := w.scratch.Get().(*writeScratch)
	defer w.release(sc)
	pipe := w.client.Pipeline()
	var lastTopic string
	lastPartition := int32(-1)
	lastKey := ""
	var lastKeyArg any // lastKey boxed once: boxing a string allocates
	slab := make([]any, 0, len(recs)*(12+len(w.trim)))
	for i, rec := range recs {
		var stream string
		if !w.key.PerRecord() && rec.Partition == lastPartition && rec.Topic == lastTopic {
			stream = lastKey
		} else {
			var ok bool
			stream, ok = w.streamKey(sc, rec)
			if !ok {
				res.Errs[i] = fmt.Errorf("%w: template %q", ErrUnresolvableKey, w.key)
				continue
			}
			lastTopic, lastPartition, lastKey, lastKeyArg = rec.Topic, rec.Partition, stream, stream
		}
		res.Streams[i] = stream
		// Every command's arguments are a window of one slab per Write
		// (one allocation per batch, not per record); the commands own it.
		start := len(slab)
		slab = append(slab, "xadd", lastKeyArg)
		slab = append(slab, w.trim...)
		slab = append(slab, "*")
		var err error
		slab, sc.arena, err = w.mapping.AppendFields(slab, sc.arena, rec)
		if err != nil {
			slab = slab[:start]
			res.Errs[i] = err
			continue
		}
		cmd := redis.NewCmd(ctx, slab[start:len(slab):len(slab)]...)
		_ = pipe.Process(ctx, cmd)
		sc.cmds = append(sc.cmds, cmd)
		sc.index = append(sc.index, i)
	}
	if len(sc.cmds) == 0 {
		return res, nil
	}
	_, _ = pipe.Exec(ctx) // every command carries its own error, read below
	var retry error
	for j, cmd := range sc.cmds {
		err := cmd.Err()
		if err == nil {
			continue
		}
		i := sc.index[j]
		if Retryable(err) || errors.Is(err, context.Canceled) {
			res.Errs[i] = fmt.Errorf("sink: xadd %s: %w", res.Streams[i], err)
			if retry == nil {
				retry = res.Errs[i]
			}
			continue
		}
		res.Errs[i] = fmt.Errorf("%w: xadd %s: %v", ErrRejected, res.Streams[i], err)
	}
	return res, retry
}

// release returns sc to the pool, dropping references to the batch's data.
// The pipeline has been sent by then, so the arena can be written again.
func (w *Writer) release(sc *writeScratch) {
	clear(sc.cmds)
	sc.cmds, sc.index, sc.arena = sc.cmds[:0], sc.index[:0], sc.arena[:0]
	w.scratch.Put(sc)
}

func (w *Writer) streamKey(sc *writeScratch, rec *kgo.Record) (string, bool) {
	buf, ok := w.key.AppendKey(sc.keyBuf[:0], rec)
	if !ok && w.fallback != nil {
		buf, ok = w.fallback.AppendKey(sc.keyBuf[:0], rec)
	}
	sc.keyBuf = buf
	if !ok {
		return "", false
	}
	return string(buf), true
}
