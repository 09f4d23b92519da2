package connector

import (
	"errors"
	"fmt"
)

var (
	// ErrPermanentRecord wraps the error of a record Redis can never accept
	// while errors.policy is fail: the connector stops, and nothing past
	// that record is committed. The error is a *RecordError naming the
	// record.
	ErrPermanentRecord = errors.New("connector: record cannot be written")
	// ErrShutdownIncomplete means the connector stopped with records it
	// could not flush in time; they were not committed and will be
	// delivered again.
	ErrShutdownIncomplete = errors.New("connector: shutdown left records uncommitted")
	// ErrDeadLetterRejected wraps the error of a record the dead-letter
	// topic can never take (e.g. MESSAGE_TOO_LARGE, not authorized): the
	// connector stops rather than retry it forever, and nothing past that
	// record is committed.
	ErrDeadLetterRejected = errors.New("connector: the dead-letter topic cannot take the record")
	// ErrForcedStop is the cause of a shutdown cut short by WithForceStop
	// (a second signal).
	ErrForcedStop = errors.New("connector: forced stop")
)

// RecordError is the record errors.policy fail stopped the connector at:
// where it came from, the stream it was for, and why Redis can never take
// it. Like franz-go's ErrDataLoss it carries its fields, so a caller reads
// them with errors.As instead of parsing the message; errors.Is matches it
// to ErrPermanentRecord, and it unwraps to Err (one of the sink's
// per-record errors: sink.ErrUnresolvableKey, sink.ErrRejected, ...).
type RecordError struct {
	Topic     string
	Partition int32
	Offset    int64
	// Stream is the record's target stream key, "" when its key template
	// could not be rendered.
	Stream string
	Err    error
}

// Error renders "connector: record cannot be written: TOPIC/PARTITION@OFFSET:
// ERR"; the stream is left out, as ERR names it when it matters.
func (e *RecordError) Error() string {
	return fmt.Sprintf("%s: %s/%d@%d: %v", ErrPermanentRecord, e.Topic, e.Partition, e.Offset, e.Err)
}

// Is reports whether target is ErrPermanentRecord.
func (e *RecordError) Is(target error) bool { return target == ErrPermanentRecord }

// Unwrap returns the record's error.
func (e *RecordError) Unwrap() error { return e.Err }
