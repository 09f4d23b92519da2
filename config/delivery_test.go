package config

import "testing"

func TestDeliveryGuarantee(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		environ []string
		want    string
		wantErr bool
	}{
		{"default", "", nil, AtLeastOnce, false},
		{"yaml", "delivery: {guarantee: exactly_once}\n", nil, ExactlyOnce, false},
		{"env", "", []string{"KRC_DELIVERY_GUARANTEE=exactly_once"}, ExactlyOnce, false},
		{"unknown", "delivery: {guarantee: exactly-once}\n", nil, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := ""
			if tt.yaml != "" {
				file = writeFile(t, tt.yaml)
			}
			cfg, err := Load(file, tt.environ)
			if tt.wantErr {
				wantProblem(t, err, "delivery.guarantee", "exactly-once", `must be one of at_least_once, exactly_once`)
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if got := cfg.Delivery.Guarantee; got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestExactlyOnceRefusesWhatItCannotDo: the exactly-once script writes only
// the entries, so settings that need commands after them are refused,
// naming the key, rather than silently ignored.
func TestExactlyOnceRefusesWhatItCannotDo(t *testing.T) {
	eos := "KRC_DELIVERY_GUARANTEE=exactly_once"
	tests := []struct {
		name    string
		environ []string
		key     string
		value   string
	}{
		{"tombstones delete", []string{eos, "KRC_STREAM_TOMBSTONES=delete"}, "stream.tombstones", "delete"},
		{"ttl", []string{eos, "KRC_STREAM_TTL=1h"}, "stream.ttl", "3600s"},
		{"max_age with max_len", []string{eos, "KRC_STREAM_MAX_AGE=1h", "KRC_STREAM_MAX_LEN=10"}, "stream.max_age", "3600s"},
		{"wait_replicas", []string{eos, "KRC_REDIS_WAIT_REPLICAS=1"}, "redis.wait_replicas", "1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load("", tt.environ)
			wantProblem(t, err, tt.key, tt.value, "not supported with delivery.guarantee exactly_once")
		})
	}
	for _, ok := range [][]string{
		{eos, "KRC_STREAM_MAX_AGE=1h"}, {eos, "KRC_STREAM_MAX_LEN=10"}, {eos, "KRC_STREAM_TOMBSTONES=entry"},
		{"KRC_STREAM_TTL=1h", "KRC_REDIS_WAIT_REPLICAS=1"},
	} {
		if _, err := Load("", ok); err != nil {
			t.Errorf("Load(%q): got %v, want no error", ok, err)
		}
	}
}
