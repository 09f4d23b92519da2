package sink

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

// readTransaction reports each command's outcome as Redis decided it.
func TestReadTransaction(t *testing.T) {
	const (
		ok, queued = "+OK\r\n", "+QUEUED\r\n"
		id         = "$3\r\n1-0\r\n"
		wrongType  = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
		oom        = "-OOM command not allowed when used memory > 'maxmemory'.\r\n"
		execAbort  = "-EXECABORT Transaction discarded because of previous errors.\r\n"
	)
	tests := []struct {
		name         string
		n            int // commands in the transaction
		in           string
		want         []string // each command's error reply, "" = applied
		wantReusable bool
		wantIO       error // errors.Is target; nil = none
	}{
		{"all applied", 3, ok + queued + queued + queued + "*3\r\n" + id + id + id,
			[]string{"", "", ""}, true, nil},
		{"one fails while EXEC runs: the others are applied", 3,
			ok + queued + queued + queued + "*3\r\n" + id + wrongType + id,
			[]string{"", "WRONGTYPE Operation against a key holding the wrong kind of value", ""}, true, nil},
		{"one refused while queued: nothing is applied", 3,
			ok + queued + oom + queued + execAbort,
			[]string{"EXECABORT Transaction discarded because of previous errors.",
				"OOM command not allowed when used memory > 'maxmemory'.",
				"EXECABORT Transaction discarded because of previous errors."}, true, nil},
		{"EXEC refused with EXECABORT", 2, ok + queued + queued + "-EXECABORT Transaction discarded because of: MISCONF x\r\n",
			[]string{"EXECABORT Transaction discarded because of: MISCONF x", "EXECABORT Transaction discarded because of: MISCONF x"}, true, nil},
		{"EXEC refused otherwise: the connection may still be in MULTI", 1, ok + queued + "-BUSY Redis is busy running a script.\r\n",
			[]string{"BUSY Redis is busy running a script."}, false, nil},
		{"MULTI refused: the commands ran one by one", 2,
			"-NOPERM this user has no permissions to run the 'multi' command\r\n" + id + oom + "-ERR EXEC without MULTI\r\n",
			[]string{"", "OOM command not allowed when used memory > 'maxmemory'."}, false, nil},
		{"EXEC null reply", 1, ok + queued + "*-1\r\n", nil, false, errProtocol},
		{"EXEC array of the wrong length", 2, ok + queued + queued + "*1\r\n" + id, nil, false, errProtocol},
		{"EXEC answered with a string", 1, ok + queued + ok, nil, false, errProtocol},
		{"connection closed before EXEC's reply", 2, ok + queued + queued, nil, false, io.EOF},
		{"connection closed within EXEC's array", 2, ok + queued + queued + "*2\r\n" + id, []string{""}, false, io.EOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			reusable, err := readTransaction(bufio.NewReader(strings.NewReader(tt.in)), tt.n, make([]error, tt.n), func(i int, reply error) {
				if i != len(got) {
					t.Fatalf("reply for command %d, want %d: in order, once each", i, len(got))
				}
				var re replyError
				switch {
				case reply == nil:
					got = append(got, "")
				case errors.As(reply, &re):
					got = append(got, string(re))
				default:
					got = append(got, fmt.Sprintf("non-reply %v", reply))
				}
			})
			if !errors.Is(err, tt.wantIO) || (tt.wantIO == nil && err != nil) {
				t.Fatalf("got connection error %v, want %v", err, tt.wantIO)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got outcomes %q, want %q", got, tt.want)
			}
			if reusable != tt.wantReusable {
				t.Errorf("reusable: got %v, want %v", reusable, tt.wantReusable)
			}
		})
	}
}
