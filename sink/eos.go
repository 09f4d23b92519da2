package sink

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Exactly-once delivery (delivery.guarantee exactly_once). Each stream a
// Write touches gets one call of eosScript, which runs atomically on the
// server: for each source partition it skips the records at or below the
// offset stored for that partition, XADDs the rest in order, and stores the
// highest offset it wrote. The offsets live in a companion hash beside the
// stream (CompanionKey), one field per source topic and partition
// (OffsetField), in the stream's hash slot, so one script touches one slot
// on a cluster as it does on a standalone or sentinel deployment.
//
// A retried write, a re-read uncommitted tail after a crash and a zombie
// member still writing a partition the group gave away all add nothing the
// hash already covers. Because the stored offset only grows, any
// interleaving of writers that each send a partition's records in order
// leaves each stream with each record once, in Kafka order.
//
// The script stores, per partition, the offset of the last record it
// wrote: a record that never reaches it (an unresolvable key, an entry
// too large) or that Redis rejects never moves the offset, and a record
// rejected or failing mid-script stops its partition's part of the call,
// so the stored offset never passes a record of that stream that is not
// in it. Lua does not undo commands: the script checks the types of its two
// keys before writing anything, and a write that fails after the first one
// is caught (pcall) so that the hash still records what was written.
//
// Scripts run with EVALSHA; a node that does not know the script (restart,
// failover, SCRIPT FLUSH, a new cluster node) answers NOSCRIPT and gets the
// source with EVAL, which also caches it there. LoadScript loads it on
// every node up front.

// The two forms of a companion hash's name (see CompanionKey).
const (
	// CompanionSuffix ends the companion of a stream key with a hash tag.
	CompanionSuffix = ":krc-offsets"
	// CompanionPrefix starts the companion of any other stream key, which
	// it wraps in braces.
	CompanionPrefix = "krc-offsets:"
)

// eosScriptSource is the exactly-once script.
//
// KEYS[1] the stream, KEYS[2] its companion hash.
// ARGV: for each source partition: its field in the hash, the number of
// its records, then for each record, in offset order: the offset, the
// number of XADD arguments after the key, and those arguments (trim
// options, ID, field/value pairs).
//
// Reply: {written, skipped, ordinal, error, ordinal, error, ...}: the
// ordinal (1-based, in ARGV order) of a record whose XADD failed and the
// error; the rest of that partition's records in the call were not tried.
const eosScriptSource = `
local function kind(key)
  local t = redis.call('TYPE', key)
  if type(t) == 'table' then return t.ok end
  return t
end
local st = kind(KEYS[1])
if st ~= 'none' and st ~= 'stream' then
  return redis.error_reply('WRONGTYPE ' .. KEYS[1] .. ' holds a ' .. st .. ', not a stream')
end
local ht = kind(KEYS[2])
if ht ~= 'none' and ht ~= 'hash' then
  return redis.error_reply('WRONGTYPE companion ' .. KEYS[2] .. ' holds a ' .. ht .. ', not a hash')
end
local reply = {0, 0}
-- The cursor: the next ARGV index, the ordinal of the last record read,
-- the partition's stored offset and the last offset written. A table, so
-- that what run did is seen after pcall however it ended.
local c = {i = 1, ordinal = 0}
-- run writes n records from ARGV[c.i]; a failing XADD raises, and pcall
-- below catches it (one pcall per partition, not one per record).
local function run(n)
  for _ = 1, n do
    local off, nargs = ARGV[c.i], tonumber(ARGV[c.i + 1])
    c.ordinal = c.ordinal + 1
    local o = tonumber(off)
    if o <= c.stored then
      reply[2] = reply[2] + 1
    else
      redis.call('XADD', KEYS[1], unpack(ARGV, c.i + 2, c.i + 1 + nargs))
      reply[1] = reply[1] + 1
      c.stored, c.top = o, off
    end
    c.i = c.i + 2 + nargs
  end
end
while c.i <= #ARGV do
  local field, n = ARGV[c.i], tonumber(ARGV[c.i + 1])
  c.i = c.i + 2
  local s = redis.call('HGET', KEYS[2], field)
  c.stored, c.top = -1, nil
  if s then c.stored = tonumber(s) end
  local first = c.ordinal
  local ok, err = pcall(run, n)
  if not ok then
    if type(err) == 'table' then err = err.err end
    reply[#reply + 1] = c.ordinal
    reply[#reply + 1] = tostring(err)
    -- Step over the failed record and the rest of the partition's.
    for _ = c.ordinal, first + n do
      c.i = c.i + 2 + tonumber(ARGV[c.i + 1])
    end
    c.ordinal = first + n
  end
  if c.top then redis.call('HSET', KEYS[2], field, c.top) end
end
return reply
`

var eosScript = redis.NewScript(eosScriptSource)

// CompanionKey names the hash holding the stored offsets of stream. A key
// with a hash tag keeps it and gets a suffix: "<key>:krc-offsets". Any
// other key is wrapped in braces after a prefix, "krc-offsets:{<key>}",
// whose hash tag is the whole stream key: the slot of a key without a tag
// is its full name's, so the hash lands in the stream's slot either way.
// The two forms never collide (one ends in '}', the other does not), so
// streams "orders" and "{orders}" have distinct companions. A key without
// a hash tag that holds a '}' cannot be wrapped (the tag would end early):
// an error.
func CompanionKey(stream string) (string, error) {
	if hasHashTag(stream) {
		return stream + CompanionSuffix, nil
	}
	if strings.IndexByte(stream, '}') >= 0 {
		return "", errNoCompanion
	}
	return CompanionPrefix + "{" + stream + "}", nil
}

// hasHashTag reports whether Redis Cluster hashes key by a hash tag: a
// '{' followed later by a '}' with at least one byte between them.
func hasHashTag(key string) bool {
	open := strings.IndexByte(key, '{')
	return open >= 0 && strings.IndexByte(key[open+1:], '}') > 0
}

// StreamOfCompanion is CompanionKey's inverse: the stream a companion
// hash's name belongs to, and false for a name CompanionKey never makes.
func StreamOfCompanion(companion string) (string, bool) {
	stream, ok := strings.CutSuffix(companion, CompanionSuffix)
	if !ok {
		inner, ok := strings.CutPrefix(companion, CompanionPrefix+"{")
		if !ok || !strings.HasSuffix(inner, "}") {
			return "", false
		}
		stream = inner[:len(inner)-1]
	}
	if c, err := CompanionKey(stream); err != nil || c != companion {
		return "", false
	}
	return stream, true
}

// OffsetField names a source partition's field in a companion hash.
func OffsetField(topic string, partition int32) string {
	return topic + ":" + strconv.FormatInt(int64(partition), 10)
}

// ParseOffsetField is OffsetField's inverse.
func ParseOffsetField(field string) (topic string, partition int32, ok bool) {
	i := strings.LastIndexByte(field, ':')
	if i <= 0 {
		return "", 0, false
	}
	p, err := strconv.ParseInt(field[i+1:], 10, 32)
	if err != nil || p < 0 {
		return "", 0, false
	}
	return field[:i], int32(p), true
}

// WithExactlyOnce makes the Writer write through the exactly-once script.
func WithExactlyOnce() WriterOption {
	return func(w *Writer) error {
		w.exactlyOnce = true
		return nil
	}
}

// LoadScript caches the exactly-once script on every node the client
// writes to (every master of a cluster), so that the first writes need no
// NOSCRIPT round trip. Writes work without it.
func LoadScript(ctx context.Context, client redis.UniversalClient) error {
	load := func(ctx context.Context, c *redis.Client) error {
		return eosScript.Load(ctx, c).Err()
	}
	var err error
	if cc, ok := client.(*redis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, load)
	} else {
		err = eosScript.Load(ctx, client).Err()
	}
	if err != nil {
		return fmt.Errorf("sink: load exactly-once script: %w", err)
	}
	return nil
}

// eosCall is one stream's script call in a Write.
type eosCall struct {
	stream, companion string
	parts             []*eosPartition
	byField           map[string]*eosPartition
}

// eosPartition is one source partition's records in a call.
type eosPartition struct {
	field  string
	stream string // the call's
	args   []any  // per record: offset, argument count, XADD arguments
	index  []int  // the records, in order
}

// writeExactlyOnce is Write under the exactly-once guarantee. Each stream's
// call is atomic and idempotent, so the calls are pipelined without a
// transaction, and a call whose outcome is unknown is simply retried.
func (w *Writer) writeExactlyOnce(ctx context.Context, recs []*kgo.Record) (Result, error) {
	res := Result{Errs: make([]error, len(recs)), Streams: make([]string, len(recs))}
	sc := w.scratch.Get().(*writeScratch)
	defer w.release(sc)
	var calls []*eosCall
	byStream := map[string]*eosCall{}
	sc.trim = w.args.AppendTrim(sc.trim[:0], w.now())
	keys := streamKeys{w: w, sc: sc, partition: -1}
	// unavailable is the schema registry's failure: the record it struck
	// and every later one wait, as in Write.
	var unavailable error
	// The stream and partition of the last record, when the key template
	// depends on the partition only: a run of one partition's records
	// renders its key, companion and offset field once, as Write does.
	var lastTopic string
	lastPartition := int32(-1)
	var lastPart *eosPartition
	for i, rec := range recs {
		if rec.Value == nil && w.tomb != "entry" {
			continue // skipped (delete is refused with exactly_once by config): done, counted below
		}
		var part *eosPartition
		var err error
		if lastPart != nil && !w.key.PerRecord() && rec.Partition == lastPartition && rec.Topic == lastTopic {
			part = lastPart
		} else {
			stream, err := keys.of(rec)
			if err != nil {
				res.Errs[i] = err
				continue
			}
			call := byStream[stream]
			if call == nil {
				companion, err := CompanionKey(stream)
				if err != nil {
					res.Errs[i] = fmt.Errorf("%w: stream %q", err, stream)
					res.Streams[i] = stream
					continue
				}
				call = &eosCall{stream: stream, companion: companion, byField: map[string]*eosPartition{}}
				byStream[stream] = call
				calls = append(calls, call)
			}
			field := OffsetField(rec.Topic, rec.Partition)
			part = call.byField[field]
			if part == nil {
				part = &eosPartition{field: field, stream: call.stream}
				call.byField[field] = part
				call.parts = append(call.parts, part)
			}
			lastTopic, lastPartition, lastPart = rec.Topic, rec.Partition, part
		}
		res.Streams[i] = part.stream
		start := len(part.args)
		part.args = append(part.args, strconv.FormatInt(rec.Offset, 10), 0)
		for _, a := range sc.trim {
			part.args = append(part.args, a)
		}
		if w.args.AutoID() {
			part.args = append(part.args, "*")
		} else {
			var err error
			if sc.id, err = w.args.AppendID(sc.id[:0], rec); err != nil {
				part.args = part.args[:start]
				res.Errs[i] = err
				continue
			}
			part.args = append(part.args, string(sc.id))
		}
		part.args, sc.arena, err = w.mapping.appendFieldsContext(ctx, part.args, sc.arena, rec)
		if err != nil {
			part.args = part.args[:start]
			if fieldsFailed(&res, i, err) { // keep each partition's order: nothing after it goes first
				unavailable = err
				break
			}
			continue
		}
		part.args[start+1] = strconv.Itoa(len(part.args) - start - 2)
		part.index = append(part.index, i)
	}
	if len(calls) == 0 {
		return countTombstones(res, recs), unavailable
	}
	cmds := w.runScript(ctx, calls)
	retry := unavailable
	for j, call := range calls {
		if err := w.applyReply(&res, call, cmds[j]); err != nil && retry == nil {
			retry = err
		}
	}
	return countTombstones(res, recs), retry
}

// runScript sends one EVALSHA per call in one pipeline, and the calls a
// node answered NOSCRIPT to again with EVAL. cmds[j] is calls[j]'s.
func (w *Writer) runScript(ctx context.Context, calls []*eosCall) []*redis.Cmd {
	cmds := make([]*redis.Cmd, len(calls))
	argvs := make([][]any, len(calls))
	pipe := w.client.Pipeline()
	for j, call := range calls {
		argvs[j] = call.argv()
		cmds[j] = pipe.EvalSha(ctx, eosScript.Hash(), []string{call.stream, call.companion}, argvs[j]...)
	}
	_, _ = pipe.Exec(ctx) // every command carries its own error
	var again []int
	for j, cmd := range cmds {
		if redis.HasErrorPrefix(cmd.Err(), "NOSCRIPT") {
			again = append(again, j)
		}
	}
	if len(again) == 0 {
		return cmds
	}
	pipe = w.client.Pipeline()
	for _, j := range again {
		cmds[j] = pipe.Eval(ctx, eosScriptSource, []string{calls[j].stream, calls[j].companion}, argvs[j]...)
	}
	_, _ = pipe.Exec(ctx)
	return cmds
}

func (c *eosCall) argv() []any {
	n := 0
	for _, p := range c.parts {
		n += 2 + len(p.args)
	}
	argv := make([]any, 0, n)
	for _, p := range c.parts {
		argv = append(argv, p.field, strconv.Itoa(len(p.index)))
		argv = append(argv, p.args...)
	}
	return argv
}

// applyReply records the outcome of call in res and returns the retryable
// error of the call, if any.
func (w *Writer) applyReply(res *Result, call *eosCall, cmd *redis.Cmd) error {
	var retry error
	failAll := func(err error) {
		for _, p := range call.parts {
			for _, i := range p.index {
				res.Errs[i] = err
			}
		}
	}
	reply, err := cmd.Slice()
	if err == nil && len(reply) < 2 {
		err = fmt.Errorf("%w: exactly-once script answered %d values", errProtocol, len(reply))
	}
	if err != nil {
		if rej := rejection(err, call.stream); rej != nil {
			failAll(rej)
			return nil
		}
		retry = fmt.Errorf("sink: exactly-once write %s: %w", call.stream, err)
		failAll(retry)
		return retry
	}
	skipped, _ := reply[1].(int64)
	res.Deduplicated += int(skipped)
	failed := map[int]error{} // ordinal -> the XADD's error
	for k := 2; k+1 < len(reply); k += 2 {
		ord, _ := reply[k].(int64)
		msg, _ := reply[k+1].(string)
		failed[int(ord)] = replyError(msg)
	}
	ordinal := 0
	for _, p := range call.parts {
		var stop error
		for _, i := range p.index {
			ordinal++
			if stop != nil {
				res.Errs[i] = fmt.Errorf("sink: exactly-once write %s: %w", call.stream, ErrNotAttempted)
				if retry == nil {
					retry = res.Errs[i]
				}
				continue
			}
			ferr, ok := failed[ordinal]
			if !ok {
				continue
			}
			stop = ferr
			if rej := rejection(ferr, call.stream); rej != nil {
				res.Errs[i] = rej
				continue
			}
			res.Errs[i] = fmt.Errorf("sink: exactly-once xadd %s: %w", call.stream, ferr)
			if retry == nil {
				retry = res.Errs[i]
			}
		}
	}
	return retry
}
