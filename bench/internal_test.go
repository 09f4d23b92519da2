package bench

import (
	"bufio"
	"slices"
	"strings"
	"testing"
)

func TestCeilingEncodingAndPlan(t *testing.T) {
	cmds := [][]any{
		{"xadd", "s", "*", "value", []byte("ab")},
		{"xadd", "s", "*", "value", []byte{}},
		{"xadd", "s", "*", "value", []byte("c")},
	}
	buf, ends, err := encodeRESP(nil, cmds)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	first := "*5\r\n$4\r\nxadd\r\n$1\r\ns\r\n$1\r\n*\r\n$5\r\nvalue\r\n$2\r\nab\r\n"
	if got := string(buf[:ends[0]]); got != first {
		t.Errorf("first command: got %q, want %q", got, first)
	}
	if _, _, err := encodeRESP(nil, [][]any{{"xadd", 1}}); err == nil {
		t.Error("an int argument: got no error, want one")
	}
	for _, tc := range []struct {
		name            string
		conns, pipeline int
		want            [][]int // commands per pipeline, per connection
	}{
		{"one connection, pipelines of 2", 1, 2, [][]int{{2, 1}}},
		{"two connections", 2, 1000, [][]int{{2}, {1}}},
		{"more connections than commands", 4, 1, [][]int{{1}, {1}, {1}, nil}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plans := planCeiling(buf, ends, tc.conns, tc.pipeline)
			var joined []byte
			for i, p := range plans {
				if !slices.Equal(p.counts, tc.want[i]) {
					t.Errorf("connection %d: got pipelines of %v, want %v", i, p.counts, tc.want[i])
				}
				for _, b := range p.pipelines {
					joined = append(joined, b...)
				}
			}
			if string(joined) != string(buf) {
				t.Errorf("pipelines together: got %q, want every command once, in order", joined)
			}
		})
	}
}

func TestReadReply(t *testing.T) {
	for _, tc := range []struct {
		name, in, wantErr string
	}{
		{"stream id", "$15\r\n1700000000000-0\r\n", ""},
		{"nil", "$-1\r\n", ""},
		{"status", "+OK\r\n", ""},
		{"error", "-WRONGTYPE Operation against a key\r\n", "redis: WRONGTYPE"},
		{"array", "*1\r\n", "unexpected reply"},
		{"bad length", "$x\r\n", "bad bulk length"},
		{"short bulk", "$15\r\n1700\r\n", "EOF"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := readReply(bufio.NewReader(strings.NewReader(tc.in)))
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("got %v, want %q", err, tc.wantErr)
			}
		})
	}
}
