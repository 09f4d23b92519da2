package loadgen

import (
	"bytes"
	"errors"
	"strconv"
	"time"
)

// A value starts with a header "lg1:RUN:PARTITION:SEQ:UNIXNANO;" and is
// padded with '.' to the requested size. Text, so a stream entry can be read
// with redis-cli; the padding makes sizes comparable to real events.
const valueMagic = "lg1:"

// errNotLoadgen marks a value that was not written by a Generator.
var errNotLoadgen = errors.New("loadgen: not a loadgen value")

// ValueHeader is what a value says about its record.
type ValueHeader struct {
	Run       string
	Partition int32
	Seq       int64
	Sent      time.Time
}

// AppendValue appends the value of one record, at least size bytes long.
func AppendValue(dst []byte, run string, partition int32, seq int64, sent time.Time, size int) []byte {
	start := len(dst)
	dst = append(dst, valueMagic...)
	dst = append(dst, run...)
	dst = append(dst, ':')
	dst = strconv.AppendInt(dst, int64(partition), 10)
	dst = append(dst, ':')
	dst = strconv.AppendInt(dst, seq, 10)
	dst = append(dst, ':')
	dst = strconv.AppendInt(dst, sent.UnixNano(), 10)
	dst = append(dst, ';')
	for len(dst)-start < size {
		dst = append(dst, '.')
	}
	return dst
}

// ParseValue reads the header of a value written by AppendValue.
func ParseValue(v []byte) (ValueHeader, error) {
	var h ValueHeader
	rest, ok := bytes.CutPrefix(v, []byte(valueMagic))
	if !ok {
		return h, errNotLoadgen
	}
	end := bytes.IndexByte(rest, ';')
	if end < 0 {
		return h, errNotLoadgen
	}
	fields := bytes.Split(rest[:end], []byte{':'})
	if len(fields) != 4 {
		return h, errNotLoadgen
	}
	p, err1 := strconv.ParseInt(string(fields[1]), 10, 32)
	seq, err2 := strconv.ParseInt(string(fields[2]), 10, 64)
	ns, err3 := strconv.ParseInt(string(fields[3]), 10, 64)
	if err := errors.Join(err1, err2, err3); err != nil {
		return h, errNotLoadgen
	}
	return ValueHeader{Run: string(fields[0]), Partition: int32(p), Seq: seq, Sent: time.Unix(0, ns)}, nil
}
