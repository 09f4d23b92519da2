package sink

import (
	"cmp"
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"
)

// The steps every Write shares, whatever carries it (writeDirect,
// writePipeline, writeExactlyOnce): each record's stream key and entry ID,
// the failure of a record's fields, and the replies to the transaction.

// streamKeys resolves the stream key of each record of one write: the key
// template's, else the fallback's. A key that depends on nothing but the
// topic and partition is rendered once per run of records of a partition.
type streamKeys struct {
	w         *Writer
	sc        *writeScratch
	topic     string
	partition int32
	key       string
	arg       any // key, boxed once: boxing a string allocates
}

// of returns rec's stream key, or the record's ErrUnresolvableKey error.
func (k *streamKeys) of(rec *kgo.Record) (string, error) {
	if !k.w.key.PerRecord() && rec.Partition == k.partition && rec.Topic == k.topic {
		return k.key, nil
	}
	stream, ok := k.w.streamKey(k.sc, rec)
	if !ok {
		return "", fmt.Errorf("%w: template %q", ErrUnresolvableKey, k.w.key)
	}
	k.topic, k.partition, k.key, k.arg = rec.Topic, rec.Partition, stream, stream
	return stream, nil
}

// entryStart is the step both transports take for record i before its
// fields: a null value stream.tombstones does not store as an entry is
// skipped or deleted (ok false), else the record's stream (also in
// res.Streams) and its explicit entry ID (nil for "*") are resolved. A
// record that cannot have them fails with its error in res (ok false).
func (w *Writer) entryStart(ctx context.Context, sc *writeScratch, res *Result, keys *streamKeys, i int, rec *kgo.Record) (stream string, id []byte, ok bool) {
	if rec.Value == nil && w.tomb != "entry" {
		if w.tomb == "delete" {
			w.appendDelete(ctx, sc, res, i, rec)
		} // else skipped: done, and counted by countTombstones
		return "", nil, false
	}
	stream, err := keys.of(rec)
	if err != nil {
		res.Errs[i] = err
		return "", nil, false
	}
	res.Streams[i] = stream
	if !w.args.AutoID() {
		if sc.id, err = w.args.AppendID(sc.id[:0], rec); err != nil {
			res.Errs[i] = err
			return "", nil, false
		}
		id = sc.id
	}
	return stream, id, true
}

// appendXADDHead appends an XADD's arguments before the entry's fields.
func appendXADDHead(args []any, key any, trim []any, id []byte) []any {
	args = append(args, "xadd", key)
	args = append(args, trim...)
	if id == nil {
		return append(args, "*")
	}
	return append(args, string(id))
}

// boxed returns ss as arguments of a command.
func boxed(ss []string) []any {
	var out []any
	for _, s := range ss {
		out = append(out, s)
	}
	return out
}

// fieldsFailed records err, the field mapping's error for record i. A
// retryable one (the schema registry unavailable) fails every later record
// too, so that nothing of a partition goes ahead of it, and fieldsFailed
// reports true: the write is built no further.
func fieldsFailed(res *Result, i int, err error) bool {
	res.Errs[i] = err
	if !Retryable(err) {
		return false
	}
	for j := i + 1; j < len(res.Errs); j++ {
		res.Errs[j] = err
	}
	return true
}

// txReplies turns the replies to a write's transaction into its Result.
// index has the record of each command, -1 for one after the entries;
// retry starts as the failure that stopped building the write, if any.
type txReplies struct {
	res   *Result
	index []int
	after error // a command after the entries failed
	retry error
}

// fail reports that command j failed with err.
func (t *txReplies) fail(j int, err error) {
	i := t.index[j]
	if i < 0 {
		// A command after the entries: a reply the record causes
		// (WRONGTYPE) the stream's entries carry themselves.
		if rejection(err, "") == nil && t.after == nil {
			t.after = fmt.Errorf("sink: after the entries: %w", err)
		}
		return
	}
	// Only a reply the entry itself caused fails the record alone;
	// anything else fails the write, to be retried.
	if rej := rejection(err, t.res.Streams[i]); rej != nil {
		t.res.Errs[i] = rej
		return
	}
	t.res.Errs[i] = fmt.Errorf("sink: xadd %s: %w", t.res.Streams[i], err)
	if t.retry == nil {
		t.retry = t.res.Errs[i]
	}
}

// finish takes the replicas' verdict (nil without replica acks) and
// returns Write's error.
func (t *txReplies) finish(acks error) error {
	// A failed command after the entries, or too few replicas: what the
	// write applied is not acknowledged, so its records are retried.
	if err := cmp.Or(t.after, acks); err != nil {
		for _, i := range t.index {
			if i >= 0 && t.res.Errs[i] == nil {
				t.res.Errs[i] = err
			}
		}
		t.retry = cmp.Or(t.retry, err)
	}
	return t.retry
}
