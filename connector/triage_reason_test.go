package connector

import (
	"errors"
	"fmt"
	"testing"

	"github.com/kafka-redis-connector/kafka-redis-connector/sink"
)

func TestPoisonReason(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{fmt.Errorf("%w: template", sink.ErrUnresolvableKey), "unresolvable_key"},
		{fmt.Errorf("%w: x", sink.ErrInvalidJSON), "invalid_json"},
		{fmt.Errorf("%w: 2 > 1", sink.ErrEntryTooLarge), "entry_too_large"},
		// As Write reports a refused ID: ErrRejected wrapping the kind.
		{fmt.Errorf("%w (%w): xadd s: ERR The ID specified in XADD is equal or smaller", sink.ErrRejected, sink.ErrIDNotIncreasing), "id_not_increasing"},
		{fmt.Errorf("%w (%w): xadd s: ERR Invalid stream ID", sink.ErrRejected, sink.ErrInvalidID), "invalid_id"},
		{fmt.Errorf("%w: the record key is \"x\"", sink.ErrInvalidID), "invalid_id"},
		{fmt.Errorf("%w: xadd s: WRONGTYPE", sink.ErrRejected), "rejected"},
		{errors.New("something else"), "other"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := poisonReason(tt.err); got != tt.want {
				t.Errorf("poisonReason(%v): got %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}
