package loadgen

import (
	"testing"
	"time"
)

func TestValueRoundTrip(t *testing.T) {
	sent := time.Unix(1700000000, 123456789)
	for _, tc := range []struct {
		name    string
		size    int
		wantLen int
	}{
		{name: "padded to size", size: 100, wantLen: 100},
		{name: "smaller than the header", size: 5, wantLen: len("lg1:run7:3:42:1700000000123456789;")},
		{name: "large", size: 10240, wantLen: 10240},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := AppendValue(nil, "run7", 3, 42, sent, tc.size)
			if len(v) != tc.wantLen {
				t.Fatalf("length: got %d, want %d", len(v), tc.wantLen)
			}
			h, err := ParseValue(v)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			want := ValueHeader{Run: "run7", Partition: 3, Seq: 42, Sent: sent}
			if h.Run != want.Run || h.Partition != want.Partition || h.Seq != want.Seq || !h.Sent.Equal(want.Sent) {
				t.Fatalf("header: got %+v, want %+v", h, want)
			}
		})
	}
}

func TestParseValueRejectsForeignValues(t *testing.T) {
	for _, v := range []string{"", "hello", `{"event_id":1}`, "lg1:run:1:2", "lg1:run:x:2:3;", "lg1:run:1:2:3:4;"} {
		t.Run(v, func(t *testing.T) {
			if h, err := ParseValue([]byte(v)); err == nil {
				t.Fatalf("got %+v, want an error", h)
			}
		})
	}
}
