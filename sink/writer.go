package sink

import (
	"bufio"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
)

// Result reports, record by record, what a Write achieved.
type Result struct {
	// Errs has one entry per record of the batch: nil when the record is
	// done - in Redis, or a null value that stream.tombstones skips - else
	// why it is not. Retryable(Errs[i]) tells the two kinds apart.
	Errs []error
	// Streams has the target stream key of each record ("" when it could not
	// be rendered, or was not needed).
	Streams []string
	// Tombstones counts the records with a null value that are done, as
	// stream.tombstones says; Skipped counts those of them that were
	// skipped (no command sent).
	Tombstones, Skipped int
	// Deduplicated counts the records found already in Redis and skipped
	// (exactly-once writes only); they have nil in Errs.
	Deduplicated int
}

// Written counts the records that are in Redis (skipped tombstones are
// done, but not written).
func (r Result) Written() int {
	n := 0
	for _, err := range r.Errs {
		if err == nil {
			n++
		}
	}
	return n - r.Skipped
}

// Writer appends records to Redis streams, one XADD per record and one
// pipelined round trip per Write, the XADDs inside MULTI/EXEC (see tx.go).
// It is safe for concurrent use: each Write takes its scratch buffers from a
// pool.
type Writer struct {
	client   redis.Cmdable
	key      *StreamKeyTemplate
	fallback *StreamKeyTemplate
	mapping  *FieldMapping
	// mappingOpts are what the options give NewFieldMapping (sealing,
	// decoders).
	mappingOpts []MappingOption
	args        *XAddArgs // trim clause, entry ID, per-stream commands
	tomb        string    // stream.tombstones: skip, entry or delete
	acks        replicaAcks
	now         func() time.Time
	scratch     sync.Pool
	direct      *directPool // nil: go-redis pipelines (see direct.go)
	noDirect    bool
	cluster     bool // client is a *redis.ClusterClient: a transaction per slot
	// exactlyOnce: each stream's records go through the script (eos.go).
	exactlyOnce bool
}

// writeScratch holds the buffers one Write reuses from the last. The arena
// holds formatted metadata that the commands point into: it is written
// again only after the pipeline that used it has been sent.
type writeScratch struct {
	keyBuf []byte
	arena  []byte
	cmds   []*redis.Cmd // go-redis pipelines
	keys   []string     // go-redis pipelines: the stream of each command
	index  []int        // the record of each command
	queued []error      // direct: the replies to the commands while queued
	args   []any        // direct, json format: one command's arguments, reused
	out    []byte       // direct: the encoded commands
	prefix []byte       // direct: "xadd", the key, the trim clause (and "*"), encoded
	nums   respNumbers  // direct: the metadata numbers encoded last, kept from one Write to the next
	// prefixKey is the stream key prefix was encoded for.
	prefixKey string
	trim      []string            // this write's trim clause
	id        []byte              // one record's entry ID
	streams   []string            // the streams the write sends commands to, in order
	seen      map[string]struct{} // streams, as a set
	after     [][]string          // one stream's commands after its entries
}

// NewWriter builds a Writer for the stream configuration.
func NewWriter(client redis.Cmdable, cfg config.Stream, opts ...WriterOption) (*Writer, error) {
	key, err := ParseStreamKeyTemplate(cfg.Key)
	if err != nil {
		return nil, err
	}
	w := &Writer{client: client, key: key, tomb: cfg.Tombstones, now: time.Now}
	if w.tomb == "" {
		w.tomb = "skip"
	}
	_, w.cluster = client.(*redis.ClusterClient)
	w.scratch.New = func() any { return new(writeScratch) }
	if cfg.FallbackKey != "" {
		if w.fallback, err = ParseStreamKeyTemplate(cfg.FallbackKey); err != nil {
			return nil, err
		}
	}
	for _, o := range opts {
		if err := o(w); err != nil {
			return nil, err
		}
	}
	if w.mapping, err = NewFieldMapping(cfg, w.mappingOpts...); err != nil {
		return nil, err
	}
	if w.args, err = NewXAddArgs(cfg); err != nil {
		return nil, err
	}
	if err := w.mapping.checkDecoders(); err != nil {
		return nil, err
	}
	if !w.noDirect {
		w.direct = directFor(client)
	}
	return w, nil
}

// WithClock sets the clock stream.max_age's MINID threshold is taken from.
func WithClock(now func() time.Time) WriterOption {
	return func(w *Writer) error {
		w.now = now
		return nil
	}
}

// WithGoRedisPipeline makes the Writer send its XADDs through go-redis
// pipelines even to a standalone Redis, so that the client's hooks see them.
// It costs about a microsecond of CPU per record more than the direct
// transport.
func WithGoRedisPipeline() WriterOption {
	return func(w *Writer) error {
		w.noDirect = true
		return nil
	}
}

// Close closes the connections the Writer opened itself (the direct
// transport's); the client passed to NewWriter stays the caller's to close.
func (w *Writer) Close() {
	if w.direct != nil {
		w.direct.close()
	}
}

// Write appends recs, in order, in one pipeline and one transaction. Every
// command's reply is read: an entry Redis rejects for its own sake fails
// only its own record; any other failure fails every record it may have
// touched, so that retrying them keeps each partition's order. The returned
// error is non-nil when at least one record failed for a retryable reason
// (then it is that reason); records failing permanently are reported only
// in Result.
//
// The transaction goes out on the direct transport (writeDirect) or as a
// go-redis pipeline (writePipeline); both take each record's stream key
// and entry ID from entryStart, and read the replies through txReplies.
func (w *Writer) Write(ctx context.Context, recs []*kgo.Record) (Result, error) {
	if w.exactlyOnce {
		return w.writeExactlyOnce(ctx, recs)
	}
	res := Result{Errs: make([]error, len(recs)), Streams: make([]string, len(recs))}
	sc := w.scratch.Get().(*writeScratch)
	defer w.release(sc)
	now := w.now()
	sc.trim = w.args.AppendTrim(sc.trim[:0], now)
	var err error
	if w.direct != nil {
		err = w.writeDirect(ctx, sc, &res, recs, now)
	} else {
		err = w.writePipeline(ctx, sc, &res, recs, now)
	}
	return countTombstones(res, recs), err
}

// writeDirect is Write on the direct transport: the transaction is encoded
// as RESP into sc.out and sent on a connection of the direct pool.
func (w *Writer) writeDirect(ctx context.Context, sc *writeScratch, res *Result, recs []*kgo.Record, now time.Time) error {
	keys := streamKeys{w: w, sc: sc, partition: -1}
	raw := w.mapping.encodesDirect()
	var trim []any // the trim clause of the commands built from argument lists
	if !raw {
		trim = boxed(sc.trim)
	}
	args := sc.args[:0] // one command's arguments, encoded before the next record's are built
	sc.out = append(sc.out, respMulti...)
	// unavailable is the schema registry's failure: the record it struck
	// and every later one wait.
	var unavailable error
	for i, rec := range recs {
		stream, id, ok := w.entryStart(ctx, sc, res, &keys, i, rec)
		if !ok {
			continue
		}
		if raw {
			if err := w.encodeXADD(sc, stream, id, rec); err != nil {
				res.Errs[i] = err
				continue
			}
			sc.index = append(sc.index, i)
			continue
		}
		args = appendXADDHead(args[:0], keys.arg, trim, id)
		var err error
		args, sc.arena, err = w.mapping.appendFieldsContext(ctx, args, sc.arena, rec)
		if err != nil {
			if fieldsFailed(res, i, err) {
				unavailable = err
				break
			}
			continue
		}
		if sc.out, err = appendArgs(sc.out, args); err != nil {
			res.Errs[i] = err
			continue
		}
		sc.index = append(sc.index, i)
	}
	sc.args = args[:0] // reused by the next Write
	if len(sc.index) == 0 {
		return unavailable
	}
	w.appendAfter(ctx, sc, res.Streams, now)
	sc.out = append(sc.out, respExec...)
	if w.acks.n > 0 {
		sc.out = w.acks.appendWAIT(sc.out)
	}
	tx := txReplies{res: res, index: sc.index, retry: unavailable}
	return tx.finish(w.sendDirect(ctx, sc, tx.fail))
}

// encodeXADD appends rec's XADD to sc.out as RESP, straight from the
// record's bytes (the raw format on the direct transport). The command's
// arguments before the entry's fields are encoded once per stream key; id
// is the entry's explicit ID, nil for "*".
func (w *Writer) encodeXADD(sc *writeScratch, stream string, id []byte, rec *kgo.Record) error {
	if stream != sc.prefixKey || len(sc.prefix) == 0 {
		sc.prefix = appendBulk(appendBulk(sc.prefix[:0], "xadd"), stream)
		for _, a := range sc.trim {
			sc.prefix = appendBulk(sc.prefix, a)
		}
		if w.args.AutoID() {
			sc.prefix = appendBulk(sc.prefix, "*")
		}
		sc.prefixKey = stream
	}
	begin := len(sc.out)
	sc.out = appendHeader(sc.out, '*', 3+len(sc.trim)+w.mapping.respFieldArgs(rec))
	sc.out = append(sc.out, sc.prefix...)
	if id != nil {
		sc.out = appendBulk(sc.out, id)
	}
	var err error
	sc.out, sc.arena, err = w.mapping.appendRESPFields(sc.out, sc.arena, &sc.nums, rec)
	if err != nil {
		sc.out = sc.out[:begin]
	}
	return err
}

// sendDirect sends the transaction encoded in sc.out on a connection of the
// direct pool and reports each failed command to fail. With replica acks it
// returns WAIT's verdict.
func (w *Writer) sendDirect(ctx context.Context, sc *writeScratch, fail func(int, error)) (acks error) {
	n := len(sc.index)
	var dc *directConn
	err := ctx.Err() // a cancelled write is not sent at all
	if err == nil {
		dc, err = w.direct.get(ctx)
	}
	if err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		for j := range n {
			fail(j, err)
		}
		return nil
	}
	sc.queued = slices.Grow(sc.queued[:0], n)[:n]
	read := 0
	reusable := false
	err = dc.roundTrip(ctx, w.direct.opts, sc.out, func(r *bufio.Reader) error {
		var err error
		reusable, err = readTransaction(r, n, sc.queued, func(j int, reply error) {
			read = j + 1
			if reply != nil {
				fail(j, reply)
			}
		})
		if err != nil || w.acks.n == 0 {
			return err
		}
		acks, err = w.acks.readVerdict(r)
		return err
	})
	if err != nil {
		// What happened to the commands whose replies were not read is
		// unknown: they are retried, on a new connection.
		w.direct.discard(dc)
		for j := read; j < n; j++ {
			fail(j, err)
		}
		return acks
	}
	if !reusable {
		_ = dc.conn.Close()
		return acks
	}
	w.direct.put(dc)
	return acks
}

// release returns sc to the pool, dropping references to the batch's data.
// The pipeline has been sent by then, so the arena can be written again.
func (w *Writer) release(sc *writeScratch) {
	clear(sc.cmds)
	clear(sc.keys)
	clear(sc.queued)
	clear(sc.args[:cap(sc.args)])
	sc.cmds, sc.keys, sc.queued, sc.index, sc.arena, sc.args, sc.out = sc.cmds[:0], sc.keys[:0], sc.queued[:0], sc.index[:0], sc.arena[:0], sc.args[:0], sc.out[:0]
	sc.prefix, sc.prefixKey = sc.prefix[:0], ""
	clear(sc.streams)
	clear(sc.seen)
	clear(sc.after)
	sc.streams, sc.after, sc.trim = sc.streams[:0], sc.after[:0], sc.trim[:0]
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
