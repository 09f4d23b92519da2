package sink_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
	"github.com/kafka-redis-connector/kafka-redis-connector/sink"
)

var argsNow = time.UnixMilli(1_700_000_000_000)

func xaddArgs(t *testing.T, edit func(*config.Stream)) *sink.XAddArgs {
	t.Helper()
	a, err := sink.NewXAddArgs(streamConfig(edit))
	if err != nil {
		t.Fatalf("NewXAddArgs: got %v, want nil", err)
	}
	return a
}

func TestXAddArgsTrim(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*config.Stream)
		trim  []string
		after [][]string
	}{
		{"none", nil, nil, nil},
		{"max_len approximate", func(c *config.Stream) { c.MaxLen = 100 }, []string{"maxlen", "~", "100"}, nil},
		{"max_len exact", func(c *config.Stream) { c.MaxLen, c.ApproxTrim = 100, false }, []string{"maxlen", "=", "100"}, nil},
		{"max_age", func(c *config.Stream) { c.MaxAge = time.Hour }, []string{"minid", "~", "1699996400000"}, nil},
		{"max_age exact", func(c *config.Stream) { c.MaxAge, c.ApproxTrim = time.Second, false }, []string{"minid", "=", "1699999999000"}, nil},
		{"max_age beyond the epoch", func(c *config.Stream) { c.MaxAge = 100 * 365 * 24 * time.Hour }, []string{"minid", "~", "0"}, nil},
		{"both: maxlen in xadd, xtrim minid after", func(c *config.Stream) { c.MaxLen, c.MaxAge = 100, time.Hour },
			[]string{"maxlen", "~", "100"}, [][]string{{"xtrim", "s", "minid", "~", "1699996400000"}}},
		{"ttl", func(c *config.Stream) { c.TTL = 90 * time.Second }, nil, [][]string{{"pexpire", "s", "90000"}}},
		{"both and ttl: expiry last", func(c *config.Stream) { c.MaxLen, c.MaxAge, c.TTL, c.ApproxTrim = 5, time.Minute, time.Hour, false },
			[]string{"maxlen", "=", "5"}, [][]string{{"xtrim", "s", "minid", "=", "1699999940000"}, {"pexpire", "s", "3600000"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := xaddArgs(t, tt.edit)
			if got := a.AppendTrim(nil, argsNow); !slices.Equal(got, tt.trim) {
				t.Errorf("trim: got %q, want %q", got, tt.trim)
			}
			got := a.AppendAfter(nil, "s", argsNow)
			if !slices.EqualFunc(got, tt.after, slices.Equal[[]string]) {
				t.Errorf("after: got %q, want %q", got, tt.after)
			}
			if a.HasAfter() != (len(tt.after) > 0) {
				t.Errorf("HasAfter: got %v, want %v", a.HasAfter(), len(tt.after) > 0)
			}
		})
	}
}

func TestXAddArgsID(t *testing.T) {
	withKey := func(key string) *kgo.Record { return &kgo.Record{Key: []byte(key), Timestamp: argsNow} }
	withHeader := func(v string) *kgo.Record {
		return &kgo.Record{Headers: []kgo.RecordHeader{{Key: "other", Value: []byte("1-1")}, {Key: "event-id", Value: []byte(v)}}}
	}
	tests := []struct {
		name string
		id   string
		rec  *kgo.Record
		want string // "" with wantErr
		err  error
	}{
		{"auto", "*", withKey("x"), "*", nil},
		{"timestamp", "{timestamp}-*", withKey("x"), "1700000000000-*", nil},
		{"timestamp zero", "{timestamp}-*", &kgo.Record{Timestamp: time.UnixMilli(0)}, "0-*", nil},
		{"timestamp before 1970", "{timestamp}-*", &kgo.Record{Timestamp: time.UnixMilli(-1)}, "", sink.ErrInvalidID},
		{"key", "{key}", withKey("1700000000000-7"), "1700000000000-7", nil},
		{"key largest", "{key}", withKey("18446744073709551615-18446744073709551615"), "18446744073709551615-18446744073709551615", nil},
		{"key 0-1", "{key}", withKey("0-1"), "0-1", nil},
		{"key null", "{key}", &kgo.Record{}, "", sink.ErrInvalidID},
		{"key 0-0", "{key}", withKey("0-0"), "", sink.ErrInvalidID},
		{"key without sequence", "{key}", withKey("1700000000000"), "", sink.ErrInvalidID},
		{"key empty sequence", "{key}", withKey("5-"), "", sink.ErrInvalidID},
		{"key empty ms", "{key}", withKey("-5"), "", sink.ErrInvalidID},
		{"key two dashes", "{key}", withKey("5-5-5"), "", sink.ErrInvalidID},
		{"key auto sequence", "{key}", withKey("5-*"), "", sink.ErrInvalidID},
		{"key overflow", "{key}", withKey("18446744073709551616-0"), "", sink.ErrInvalidID},
		{"key text", "{key}", withKey("order-17"), "", sink.ErrInvalidID},
		{"key signed", "{key}", withKey("+5-1"), "", sink.ErrInvalidID},
		{"header", "{header:event-id}", withHeader("42-3"), "42-3", nil},
		{"header invalid", "{header:event-id}", withHeader("42"), "", sink.ErrInvalidID},
		{"header missing", "{header:trace}", withHeader("42-3"), "", sink.ErrInvalidID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := xaddArgs(t, func(c *config.Stream) { c.ID = tt.id })
			if got := a.AutoID(); got != (tt.id == "*") {
				t.Errorf("AutoID: got %v, want %v", got, tt.id == "*")
			}
			got, err := a.AppendID([]byte("prefix:"), tt.rec)
			if !errors.Is(err, tt.err) || (err == nil) != (tt.err == nil) {
				t.Fatalf("got error %v, want %v", err, tt.err)
			}
			if tt.err != nil {
				if string(got) != "prefix:" {
					t.Errorf("got %q after an error, want dst unchanged", got)
				}
				return
			}
			if string(got) != "prefix:"+tt.want {
				t.Errorf("got %q, want %q", got, "prefix:"+tt.want)
			}
		})
	}
}

func TestNewXAddArgsRejectsUnknownID(t *testing.T) {
	for _, id := range []string{"{offset}", "{header:}", "1-1"} {
		if _, err := sink.NewXAddArgs(streamConfig(func(c *config.Stream) { c.ID = id })); err == nil {
			t.Errorf("stream.id %q: got nil error, want one", id)
		}
	}
}
