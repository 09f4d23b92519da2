package sink

import (
	"fmt"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
)

// XAddArgs builds what an XADD carries besides its key and fields - the
// trim clause and the entry ID - and the commands a write sends once per
// stream after that stream's entries (XTRIM, PEXPIRE). It is pure and safe
// for concurrent use: the time is passed in, so that one write uses one
// MINID threshold. The transaction path (writer.go) and the exactly-once
// script path build their arguments from the same XAddArgs.
//
// Redis accepts one trim strategy per XADD. With only stream.max_len the
// XADD carries MAXLEN, with only stream.max_age it carries MINID; with both
// it carries MAXLEN and the write adds one XTRIM MINID per stream after the
// stream's XADDs, in the same transaction, so both bounds hold when EXEC
// returns.
type XAddArgs struct {
	id     idSource
	header string // idHeader: the header holding the ID
	op     string // "~" or "="
	maxLen string // "" when stream.max_len is 0
	maxAge time.Duration
	ttl    string // PEXPIRE's milliseconds; "" when stream.ttl is 0
}

type idSource uint8

const (
	idAuto      idSource = iota // "*"
	idTimestamp                 // "{timestamp}-*"
	idKey                       // "{key}"
	idHeader                    // "{header:NAME}"
)

// NewXAddArgs builds the XADD arguments of the stream configuration.
func NewXAddArgs(cfg config.Stream) (*XAddArgs, error) {
	a := &XAddArgs{op: "=", maxAge: cfg.MaxAge}
	if cfg.ApproxTrim {
		a.op = "~"
	}
	if cfg.MaxLen > 0 {
		a.maxLen = strconv.FormatInt(cfg.MaxLen, 10)
	}
	if cfg.TTL > 0 {
		a.ttl = strconv.FormatInt(cfg.TTL.Milliseconds(), 10)
	}
	switch id := cfg.ID; id {
	case config.StreamIDAuto, "":
	case config.StreamIDTimestamp:
		a.id = idTimestamp
	case config.StreamIDKey:
		a.id = idKey
	default:
		name, ok := config.StreamIDHeader(id)
		if !ok {
			return nil, fmt.Errorf("sink: unknown stream.id %q", id)
		}
		a.id, a.header = idHeader, name
	}
	return a, nil
}

// AutoID reports whether Redis picks every entry's whole ID ("*"): then
// the ID is the same argument for every record.
func (a *XAddArgs) AutoID() bool { return a.id == idAuto }

// AppendTrim appends the XADD's trim clause at now to dst: MAXLEN when
// stream.max_len is set, else MINID when stream.max_age is, else nothing.
func (a *XAddArgs) AppendTrim(dst []string, now time.Time) []string {
	switch {
	case a.maxLen != "":
		return append(dst, "maxlen", a.op, a.maxLen)
	case a.maxAge > 0:
		return append(dst, "minid", a.op, a.minID(now))
	}
	return dst
}

// minID is the oldest entry ID stream.max_age keeps at now.
func (a *XAddArgs) minID(now time.Time) string {
	return strconv.FormatInt(max(now.Add(-a.maxAge).UnixMilli(), 0), 10)
}

// AppendID appends rec's entry ID to dst. A record whose template part is
// missing, or whose explicit ID is not "ms-seq" (two decimal numbers, not
// 0-0), fails with ErrInvalidID: the record's fault, under errors.policy.
// Whether an ID is above the stream's top only Redis can tell.
func (a *XAddArgs) AppendID(dst []byte, rec *kgo.Record) ([]byte, error) {
	switch a.id {
	case idTimestamp:
		ms := rec.Timestamp.UnixMilli()
		if ms < 0 {
			return dst, fmt.Errorf("%w: record timestamp %d ms is before 1970", ErrInvalidID, ms)
		}
		return append(strconv.AppendInt(dst, ms, 10), '-', '*'), nil
	case idKey:
		if rec.Key == nil {
			return dst, fmt.Errorf("%w: stream.id is {key} and the record has no key", ErrInvalidID)
		}
		return appendExplicitID(dst, rec.Key, "the record key")
	case idHeader:
		for i := range rec.Headers {
			if rec.Headers[i].Key == a.header {
				return appendExplicitID(dst, rec.Headers[i].Value, "header "+a.header)
			}
		}
		return dst, fmt.Errorf("%w: stream.id is {header:%s} and the record has no such header", ErrInvalidID, a.header)
	}
	return append(dst, '*'), nil
}

// appendExplicitID appends id when it is a valid explicit entry ID.
func appendExplicitID(dst, id []byte, from string) ([]byte, error) {
	if !validExplicitID(id) {
		return dst, fmt.Errorf("%w: %s is %q, want ms-seq (e.g. 1700000000000-0) above 0-0", ErrInvalidID, from, clip(id))
	}
	return append(dst, id...), nil
}

// validExplicitID reports whether id is "ms-seq", both parts decimal
// numbers that fit 64 bits unsigned, and not 0-0.
func validExplicitID(id []byte) bool {
	dash := -1
	for i, c := range id {
		if c == '-' && dash < 0 {
			dash = i
			continue
		}
		if c < '0' || c > '9' {
			return false
		}
	}
	if dash <= 0 || dash == len(id)-1 {
		return false
	}
	ms, err1 := strconv.ParseUint(string(id[:dash]), 10, 64)
	seq, err2 := strconv.ParseUint(string(id[dash+1:]), 10, 64)
	return err1 == nil && err2 == nil && (ms != 0 || seq != 0)
}

// HasAfter reports whether AppendAfter sends anything.
func (a *XAddArgs) HasAfter() bool {
	return a.ttl != "" || a.maxLen != "" && a.maxAge > 0
}

// AppendAfter appends to dst the commands, each a list of arguments, that a
// write sends once for stream after the stream's XADDs (and DELs) at now:
// XTRIM MINID when both stream.max_len and stream.max_age are set (the
// XADDs carry MAXLEN), and PEXPIRE when stream.ttl is set, last, so that it
// applies to the stream as the write leaves it.
func (a *XAddArgs) AppendAfter(dst [][]string, stream string, now time.Time) [][]string {
	if a.maxLen != "" && a.maxAge > 0 {
		dst = append(dst, []string{"xtrim", stream, "minid", a.op, a.minID(now)})
	}
	if a.ttl != "" {
		dst = append(dst, []string{"pexpire", stream, a.ttl})
	}
	return dst
}
