package connector

import (
	"errors"
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
	"github.com/kafka-redis-connector/kafka-redis-connector/sink"
)

// TestRecordError: the error errors.policy fail stops at keeps the message
// the formatted error had (logs, docs and the integration suite quote it),
// matches ErrPermanentRecord and the sink's cause with errors.Is however it
// is wrapped, and gives its fields back through errors.As.
func TestRecordError(t *testing.T) {
	cause := fmt.Errorf("%w: template %q", sink.ErrUnresolvableKey, "{header:tenant}")
	rerr := &RecordError{Topic: "events", Partition: 3, Offset: 42, Stream: "", Err: cause}
	const want = `connector: record cannot be written: events/3@42: sink: stream key template cannot be resolved for this record: template "{header:tenant}"`
	if got := rerr.Error(); got != want {
		t.Fatalf("got message %q, want %q", got, want)
	}
	// The construction RecordError replaced renders the same.
	if old := fmt.Errorf("%w: %s/%d@%d: %w", ErrPermanentRecord, "events", 3, int64(42), cause).Error(); old != want {
		t.Fatalf("the old formatted error reads %q, want %q", old, want)
	}

	wrapped := map[string]error{
		"bare":           rerr,
		"fmt wrapped":    fmt.Errorf("connector: run: %w", rerr),
		"shutdown cause": &ShutdownError{Cause: rerr, Left: []UncommittedRange{{Topic: "events", Partition: 3, From: 42, Count: 8}}},
		"joined":         errors.Join(errors.New("commit failed"), fmt.Errorf("stop: %w", rerr)),
	}
	for name, err := range wrapped {
		t.Run(name, func(t *testing.T) {
			for _, target := range []error{ErrPermanentRecord, sink.ErrUnresolvableKey} {
				if !errors.Is(err, target) {
					t.Errorf("errors.Is(%v, %v): got false, want true", err, target)
				}
			}
			for _, other := range []error{ErrDeadLetterRejected, ErrForcedStop, sink.ErrInvalidJSON} {
				if errors.Is(err, other) {
					t.Errorf("errors.Is(%v, %v): got true, want false", err, other)
				}
			}
			var got *RecordError
			if !errors.As(err, &got) {
				t.Fatalf("errors.As(%v, *RecordError): got false, want true", err)
			}
			if got.Topic != "events" || got.Partition != 3 || got.Offset != 42 || got.Err != cause {
				t.Errorf("got fields %+v, want events/3@42 with the cause", *got)
			}
		})
	}
}

// TestTriageFailMakesRecordError: under errors.policy fail the batch's
// fatal error is a RecordError naming the first poisoned record, its
// stream and its cause; later poisoned records do not replace it.
func TestTriageFailMakesRecordError(t *testing.T) {
	c := &Connector{errorPolicy: config.PolicyFail}
	recs := []*kgo.Record{
		{Topic: "events", Partition: 1, Offset: 7},
		{Topic: "events", Partition: 1, Offset: 8},
		{Topic: "events", Partition: 1, Offset: 9},
	}
	b := &pendingBatch{recs: recs, state: make([]recordState, len(recs))}
	tooLarge := fmt.Errorf("%w: 2000000 > 1048576", sink.ErrEntryTooLarge)
	c.triage(b, []poisonRecord{
		{index: 1, rec: recs[1], stream: "orders", err: tooLarge},
		{index: 2, rec: recs[2], stream: "orders", err: sink.ErrInvalidJSON},
	})
	var rerr *RecordError
	if !errors.As(b.fatal, &rerr) {
		t.Fatalf("got fatal %v (%T), want a *RecordError", b.fatal, b.fatal)
	}
	want := RecordError{Topic: "events", Partition: 1, Offset: 8, Stream: "orders", Err: tooLarge}
	if *rerr != want {
		t.Errorf("got %+v, want %+v", *rerr, want)
	}
	if !errors.Is(b.fatal, ErrPermanentRecord) || !errors.Is(b.fatal, sink.ErrEntryTooLarge) {
		t.Errorf("got %v, want it to match ErrPermanentRecord and sink.ErrEntryTooLarge", b.fatal)
	}
	for i, want := range []recordState{0, statePoisoned, statePoisoned} {
		if b.state[i] != want {
			t.Errorf("record %d: got state %v, want %v", i, b.state[i], want)
		}
	}
}
