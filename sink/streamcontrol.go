package sink

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The commands a write adds besides its XADDs: the DEL of a tombstone's
// stream and, once per stream after its entries, XAddArgs's XTRIM and
// PEXPIRE. They go in the write's transaction, so they apply with its
// entries or not at all.

// appendDelete adds the DEL of a tombstone's stream (stream.tombstones:
// delete) to the write, in order with the XADDs. The stream is the key
// template's alone: a fallback stream is never deleted.
func (w *Writer) appendDelete(ctx context.Context, sc *writeScratch, res *Result, i int, rec *kgo.Record) {
	buf, ok := w.key.AppendKey(sc.keyBuf[:0], rec)
	sc.keyBuf = buf
	if !ok {
		res.Errs[i] = fmt.Errorf("%w: template %q (tombstone to delete)", ErrUnresolvableKey, w.key)
		return
	}
	stream := string(buf)
	res.Streams[i] = stream
	if w.direct == nil {
		sc.cmds = append(sc.cmds, redis.NewCmd(ctx, "del", stream))
		sc.keys = append(sc.keys, stream)
	} else {
		sc.out = appendCommand(sc.out, "del", stream)
	}
	sc.index = append(sc.index, i)
}

// appendAfter adds the commands XAddArgs sends once per stream after the
// stream's entries (XTRIM MINID, PEXPIRE), at the end of the transaction;
// their index is -1. streams are the records' streams.
func (w *Writer) appendAfter(ctx context.Context, sc *writeScratch, streams []string, now time.Time) {
	if !w.args.HasAfter() {
		return
	}
	if sc.seen == nil {
		sc.seen = map[string]struct{}{}
	}
	for _, i := range sc.index {
		if _, dup := sc.seen[streams[i]]; !dup {
			sc.seen[streams[i]] = struct{}{}
			sc.streams = append(sc.streams, streams[i])
		}
	}
	for _, stream := range sc.streams {
		sc.after = w.args.AppendAfter(sc.after[:0], stream, now)
		for _, cmd := range sc.after {
			if w.direct == nil {
				args := make([]any, len(cmd))
				for k, a := range cmd {
					args[k] = a
				}
				sc.cmds = append(sc.cmds, redis.NewCmd(ctx, args...))
				sc.keys = append(sc.keys, stream)
			} else {
				sc.out = appendCommand(sc.out, cmd...)
			}
			sc.index = append(sc.index, -1)
		}
	}
}

// countTombstones counts the null-value records that are done.
func countTombstones(res Result, recs []*kgo.Record) Result {
	for i, rec := range recs {
		if rec.Value == nil && res.Errs[i] == nil {
			res.Tombstones++
			if res.Streams[i] == "" {
				res.Skipped++
			}
		}
	}
	return res
}
