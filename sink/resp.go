package sink

import (
	"bufio"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"strconv"
)

// RESP2 on the wire for the direct transport (direct.go): encoding commands
// into one buffer, and reading replies without building a value for each.

// readReply reads one RESP2 reply and returns it as an error when it is an
// error reply; io is the connection's failure.
func readReply(r *bufio.Reader, depth int) (reply, io error) {
	line, err := readLine(r)
	if err != nil {
		return nil, err
	}
	switch line[0] {
	case '+', ':':
		return nil, nil
	case '-':
		return replyError(line[1:]), nil
	case '$':
		n, err := parseLength(line[1:])
		if err != nil {
			return nil, fmt.Errorf("%w: bulk length %q", errProtocol, clip(line))
		}
		if n < 0 {
			return nil, nil
		}
		if _, err := r.Discard(n + 2); err != nil {
			return nil, err
		}
		return nil, nil
	case '*':
		n, err := parseLength(line[1:])
		if err != nil || depth > 8 {
			return nil, fmt.Errorf("%w: array header %q", errProtocol, clip(line))
		}
		for range n {
			if _, err := readReply(r, depth+1); err != nil {
				return nil, err
			}
		}
		return nil, nil
	default:
		return nil, fmt.Errorf("%w: unexpected reply %q", errProtocol, clip(line))
	}
}

// respQueued is the reply to a command queued in a transaction.
const respQueued = "+QUEUED\r\n"

// readQueued is readReply for the reply to a command sent inside MULTI:
// "+QUEUED", when it is whole in the buffer, is matched there and
// discarded, without searching for the line's end; any other reply, or one
// not read yet, goes to readReply.
func readQueued(r *bufio.Reader) (reply, io error) {
	if r.Buffered() >= len(respQueued) {
		if b, _ := r.Peek(len(respQueued)); string(b) == respQueued {
			_, _ = r.Discard(len(respQueued))
			return nil, nil
		}
	}
	return readReply(r, 0)
}

// readBulk is readReply for a reply that is most often a short bulk string
// (the entry ID EXEC answers for each XADD): when the whole of it is in the
// buffer, it is discarded there; anything else goes to readReply. Neither
// reads from the connection before readReply does.
func readBulk(r *bufio.Reader) (reply, io error) {
	b, _ := r.Peek(min(r.Buffered(), 8)) // what is buffered: Peek does not read
	if len(b) >= 4 && b[0] == '$' {
		n, i := 0, 1
		for ; i < 4 && i < len(b) && '0' <= b[i] && b[i] <= '9'; i++ {
			n = n*10 + int(b[i]-'0')
		}
		if i > 1 && i+1 < len(b) && b[i] == '\r' && b[i+1] == '\n' && r.Buffered() >= i+2+n+2 {
			_, _ = r.Discard(i + 2 + n + 2)
			return nil, nil
		}
	}
	return readReply(r, 0)
}

// parseLength parses a bulk or array length, as strconv.Atoi does. Every
// reply to an XADD is one: the common case, a few digits, is parsed from the
// bytes (converting them to a string for Atoi was a tenth of reading a
// transaction's replies, BenchmarkReadTransaction); anything else - a sign,
// more digits than an int surely holds, no digits - goes to Atoi.
func parseLength(b []byte) (int, error) {
	if len(b) == 0 || len(b) > 18 {
		return strconv.Atoi(string(b))
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return strconv.Atoi(string(b))
		}
		n = n*10 + int(c-'0')
	}
	return n, nil
}

// readLine reads a CRLF-terminated line and returns it without the CRLF.
// The slice is valid until the next read.
func readLine(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadSlice('\n')
	if err != nil && errors.Is(err, bufio.ErrBufferFull) { // a long error reply
		line = append([]byte(nil), line...) // before the next read reuses the buffer
		var rest []byte
		rest, err = r.ReadBytes('\n')
		line = append(line, rest...)
	}
	if err != nil {
		return nil, err
	}
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return nil, fmt.Errorf("%w: malformed line %q", errProtocol, clip(line))
	}
	return line[:len(line)-2], nil
}

// clip shortens what an error quotes from the wire.
func clip(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}

// appendCommand appends one RESP command of string arguments.
func appendCommand(b []byte, args ...string) []byte {
	b = appendHeader(b, '*', len(args))
	for _, a := range args {
		b = appendBulk(b, a)
	}
	return b
}

// appendArgs appends one RESP command whose arguments are strings or
// []byte, as the FieldMapping produces them. On error b is returned as it
// was: half a command would corrupt the connection's stream.
func appendArgs(b []byte, args []any) ([]byte, error) {
	start := len(b)
	b = appendHeader(b, '*', len(args))
	for _, a := range args {
		switch v := a.(type) {
		case string:
			b = appendBulk(b, v)
		case []byte:
			b = appendBulk(b, v)
		default:
			return b[:start], fmt.Errorf("sink: argument of type %T", a)
		}
	}
	return b, nil
}

func appendHeader(b []byte, kind byte, n int) []byte {
	// Most lengths are short: their digits are written directly (encoding
	// a 100-byte record this way takes ~15% less time than strconv).
	switch {
	case n >= 0 && n < 10:
		return append(b, kind, byte('0'+n), '\r', '\n')
	case n >= 10 && n < 100:
		return append(b, kind, byte('0'+n/10), byte('0'+n%10), '\r', '\n')
	case n >= 100 && n < 1000:
		return append(b, kind, byte('0'+n/100), byte('0'+n/10%10), byte('0'+n%10), '\r', '\n')
	}
	b = append(b, kind)
	b = strconv.AppendInt(b, int64(n), 10)
	return append(b, '\r', '\n')
}

// appendBulkInt appends v in decimal as a bulk string, as appendBulk of
// strconv.AppendInt's text would, and returns the text's length. The
// metadata fields are three numbers per record: the digits are written
// two at a time from digitPairs, straight into b behind their header, the
// length counted first (decimalLen), with no buffer of their own to copy
// from (see BenchmarkEncodeBatch).
func appendBulkInt(b []byte, v int64) ([]byte, int) {
	if v < 0 {
		var num [20]byte
		text := strconv.AppendInt(num[:0], v, 10)
		return appendBulk(b, text), len(text)
	}
	u := uint64(v)
	n := decimalLen(u)
	b = appendHeader(b, '$', n)
	start := len(b)
	b = slices.Grow(b, n+2)[:start+n+2]
	digits := b[start : start+n]
	i := n
	for u >= 100 {
		q := u / 100
		d := (u - q*100) * 2
		i -= 2
		digits[i], digits[i+1] = digitPairs[d], digitPairs[d+1]
		u = q
	}
	if u >= 10 {
		digits[0], digits[1] = digitPairs[u*2], digitPairs[u*2+1]
	} else {
		digits[0] = byte('0' + u)
	}
	b[start+n], b[start+n+1] = '\r', '\n'
	return b, n
}

// digitPairs holds the two digits of every number from 00 to 99.
const digitPairs = "00010203040506070809" +
	"10111213141516171819" +
	"20212223242526272829" +
	"30313233343536373839" +
	"40414243444546474849" +
	"50515253545556575859" +
	"60616263646566676869" +
	"70717273747576777879" +
	"80818283848586878889" +
	"90919293949596979899"

// pow10 holds 10^i for every power a uint64 holds.
var pow10 = [20]uint64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9,
	1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19}

// decimalLen is the number of decimal digits of u (1 for 0): log10 from
// the bit length (1233/4096 is just above log10(2)), corrected by one
// comparison.
func decimalLen(u uint64) int {
	if u < 10 {
		return 1
	}
	t := bits.Len64(u) * 1233 >> 12
	if u < pow10[t] {
		return t
	}
	return t + 1
}

func appendBulk[T string | []byte](b []byte, v T) []byte {
	b = appendHeader(b, '$', len(v))
	b = append(b, v...)
	return append(b, '\r', '\n')
}
