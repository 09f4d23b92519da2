package sink

import (
	"bufio"
	"context"
	"fmt"
	"strconv"
)

// The exactly-once script over the direct transport (direct.go): against a
// standalone Redis the calls are encoded as RESP straight from the
// records' arguments and sent on the Writer's own connections, as
// at_least_once writes are, sparing go-redis's per-argument work.

// runScriptDirect sends one EVALSHA per call in one round trip, and the
// calls answered NOSCRIPT again with EVAL in a second one. The j-th reply
// is calls[j]'s; a call whose reply was not read carries the connection's
// failure (it may have run: a retry is harmless, the script being
// idempotent).
func (w *Writer) runScriptDirect(ctx context.Context, calls []*eosCall) []scriptReply {
	replies := make([]scriptReply, len(calls))
	fail := func(idx []int, err error) {
		for _, j := range idx {
			replies[j].err = err
		}
	}
	all := make([]int, len(calls))
	for j := range all {
		all[j] = j
	}
	err := ctx.Err()
	var dc *directConn
	if err == nil {
		dc, err = w.direct.get(ctx)
	}
	if err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		fail(all, err)
		return replies
	}
	pending := all
	for _, cmd := range []string{"evalsha", "eval"} {
		body := eosScript.Hash()
		if cmd == "eval" {
			body = eosScriptSource
		}
		var buf []byte
		for _, j := range pending {
			buf = calls[j].appendRESP(buf, cmd, body)
		}
		var again []int
		read := 0
		err := dc.roundTrip(ctx, w.direct.opts, buf, func(r *bufio.Reader) error {
			for _, j := range pending {
				v, reply, err := readValue(r, 0)
				if err != nil {
					return err
				}
				read++
				if reply != nil && cmd == "evalsha" && replyIsNoScript(reply) {
					again = append(again, j)
					continue
				}
				replies[j].err = reply
				if reply == nil {
					values, ok := v.([]any)
					if !ok {
						replies[j].err = fmt.Errorf("%w: exactly-once script answered %T", errProtocol, v)
					}
					replies[j].values = values
				}
			}
			return nil
		})
		if err != nil {
			w.direct.discard(dc)
			fail(pending[read:], err)
			fail(again, err)
			return replies
		}
		if len(again) == 0 {
			break
		}
		pending = again
	}
	w.direct.put(dc)
	return replies
}

// replyIsNoScript reports whether reply is Redis saying it does not know
// the script's SHA.
func replyIsNoScript(reply error) bool {
	msg := reply.Error()
	return len(msg) >= 8 && msg[:8] == "NOSCRIPT"
}

// appendRESP appends the call as one EVALSHA (body: the SHA) or EVAL
// (body: the source) command.
func (c *eosCall) appendRESP(b []byte, cmd, body string) []byte {
	n := 5
	for _, p := range c.parts {
		n += 2 + len(p.args)
	}
	b = appendHeader(b, '*', n)
	b = appendBulk(appendBulk(b, cmd), body)
	b = appendBulk(appendBulk(appendBulk(b, "2"), c.stream), c.companion)
	for _, p := range c.parts {
		b = appendBulk(appendBulk(b, p.field), strconv.Itoa(len(p.index)))
		for _, a := range p.args {
			switch v := a.(type) {
			case string:
				b = appendBulk(b, v)
			case []byte:
				b = appendBulk(b, v)
			default:
				// AppendFields produces only these two; a third would
				// be a bug here, not a record's fault.
				panic(fmt.Sprintf("sink: script argument of type %T", a))
			}
		}
	}
	return b
}

// readValue reads one RESP2 reply: integers as int64, strings as string,
// arrays as []any; an error reply is returned as reply, a connection
// failure as io.
func readValue(r *bufio.Reader, depth int) (v any, reply, io error) {
	line, err := readLine(r)
	if err != nil {
		return nil, nil, err
	}
	switch line[0] {
	case '+':
		return string(line[1:]), nil, nil
	case ':':
		n, err := strconv.ParseInt(string(line[1:]), 10, 64)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: integer %q", errProtocol, clip(line))
		}
		return n, nil, nil
	case '-':
		return nil, replyError(line[1:]), nil
	case '$':
		n, err := strconv.Atoi(string(line[1:]))
		if err != nil {
			return nil, nil, fmt.Errorf("%w: bulk length %q", errProtocol, clip(line))
		}
		if n < 0 {
			return nil, nil, nil
		}
		buf := make([]byte, n+2)
		if _, err := fullRead(r, buf); err != nil {
			return nil, nil, err
		}
		return string(buf[:n]), nil, nil
	case '*':
		n, err := strconv.Atoi(string(line[1:]))
		if err != nil || depth > 8 {
			return nil, nil, fmt.Errorf("%w: array header %q", errProtocol, clip(line))
		}
		if n < 0 {
			return nil, nil, nil
		}
		out := make([]any, 0, min(n, 1024))
		for range n {
			v, rep, err := readValue(r, depth+1)
			if err != nil {
				return nil, nil, err
			}
			if rep != nil {
				v = rep.Error()
			}
			out = append(out, v)
		}
		return out, nil, nil
	default:
		return nil, nil, fmt.Errorf("%w: unexpected reply %q", errProtocol, clip(line))
	}
}

func fullRead(r *bufio.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
