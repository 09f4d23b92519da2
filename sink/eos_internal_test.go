package sink

import (
	"errors"
	"testing"
)

func TestCompanionKey(t *testing.T) {
	tests := []struct {
		stream, want string
		wantErr      bool
	}{
		{stream: "orders", want: "krc-offsets:{orders}"},
		{stream: "events.7", want: "krc-offsets:{events.7}"},
		{stream: "{orders}", want: "{orders}:krc-offsets"},
		{stream: "{orders}:eu", want: "{orders}:eu:krc-offsets"},
		{stream: "eu:{orders}", want: "eu:{orders}:krc-offsets"},
		{stream: "a{b", want: "krc-offsets:{a{b}"},
		{stream: "a}b", wantErr: true},
		{stream: "{}x", wantErr: true},
		{stream: "x{}{y}", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.stream, func(t *testing.T) {
			got, err := CompanionKey(tt.stream)
			if tt.wantErr {
				if !errors.Is(err, ErrUnresolvableKey) {
					t.Fatalf("got %q, %v, want an error wrapping ErrUnresolvableKey", got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v, want %q", got, err, tt.want)
			}
			if gs, ws := clusterSlot(got), clusterSlot(tt.stream); gs != ws {
				t.Errorf("companion in slot %d, stream in slot %d, want the same", gs, ws)
			}
			if back, ok := StreamOfCompanion(got); !ok || back != tt.stream {
				t.Errorf("StreamOfCompanion(%q): got %q, %v, want %q", got, back, ok, tt.stream)
			}
		})
	}
	for _, name := range []string{"orders", "krc-offsets:{a}b}", "x:krc-offsets", "krc-offsets:orders"} {
		if s, ok := StreamOfCompanion(name); ok {
			t.Errorf("StreamOfCompanion(%q): got %q, want not a companion", name, s)
		}
	}
}

func TestOffsetField(t *testing.T) {
	f := OffsetField("my.topic-1", 12)
	topic, p, ok := ParseOffsetField(f)
	if !ok || topic != "my.topic-1" || p != 12 {
		t.Errorf("ParseOffsetField(%q): got %q %d %v, want my.topic-1 12 true", f, topic, p, ok)
	}
	for _, bad := range []string{"", "events", ":3", "events:-1", "events:x"} {
		if _, _, ok := ParseOffsetField(bad); ok {
			t.Errorf("ParseOffsetField(%q): got ok, want not a field", bad)
		}
	}
}
