package sink

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kgo"
)

// writePipeline is Write through go-redis: one redis.Cmd per command, sent
// in a transaction by execTx, so that the client's hooks see them.
func (w *Writer) writePipeline(ctx context.Context, sc *writeScratch, res *Result, recs []*kgo.Record, now time.Time) error {
	keys := streamKeys{w: w, sc: sc, partition: -1}
	trim := boxed(sc.trim)
	// Every command's arguments are a window of one slab per Write (one
	// allocation per batch, not per record); the commands own it.
	slab := make([]any, 0, len(recs)*(13+len(sc.trim)))
	// unavailable is the schema registry's failure: the record it struck
	// and every later one wait.
	var unavailable error
	for i, rec := range recs {
		stream, id, ok := w.entryStart(ctx, sc, res, &keys, i, rec)
		if !ok {
			continue
		}
		start := len(slab)
		slab = appendXADDHead(slab, keys.arg, trim, id)
		var err error
		slab, sc.arena, err = w.mapping.appendFieldsContext(ctx, slab, sc.arena, rec)
		if err != nil {
			slab = slab[:start]
			if fieldsFailed(res, i, err) {
				unavailable = err
				break
			}
			continue
		}
		sc.cmds = append(sc.cmds, redis.NewCmd(ctx, slab[start:len(slab):len(slab)]...))
		sc.keys = append(sc.keys, stream)
		sc.index = append(sc.index, i)
	}
	if len(sc.index) == 0 {
		return unavailable
	}
	w.appendAfter(ctx, sc, res.Streams, now)
	tx := txReplies{res: res, index: sc.index, retry: unavailable}
	acks := w.execTx(ctx, sc.cmds, sc.keys)
	for j, cmd := range sc.cmds {
		if err := cmd.Err(); err != nil {
			tx.fail(j, err)
		}
	}
	return tx.finish(acks)
}
