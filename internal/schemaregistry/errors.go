package schemaregistry

import (
	"errors"
	"fmt"
)

// ErrUnavailable means the registry could not answer: unreachable, timed
// out, a 5xx, 401, 403 or 429 reply. Retrying may help; the record is not
// at fault.
var ErrUnavailable = errors.New("schemaregistry: registry unavailable")

// Reasons of a RecordError, used as metric labels and dead-letter headers.
const (
	ReasonSchemaNotFound = "schema_not_found" // the registry does not know the id
	ReasonWireFormat     = "wire_format"      // no magic byte 0, too short, bad message indexes
	ReasonDecodeFailed   = "decode_failed"    // the payload does not match its schema, or the schema does not compile
)

// Reasons lists every RecordError reason.
var Reasons = []string{ReasonSchemaNotFound, ReasonWireFormat, ReasonDecodeFailed}

// RecordError is a per-record permanent error: this record will never
// decode, whatever the registry's state.
type RecordError struct {
	Reason string
	ID     int // the schema id, 0 when the header could not be read
	Err    error
}

func (e *RecordError) Error() string {
	if e.ID != 0 {
		return fmt.Sprintf("schemaregistry: %s (schema id %d): %v", e.Reason, e.ID, e.Err)
	}
	return fmt.Sprintf("schemaregistry: %s: %v", e.Reason, e.Err)
}

func (e *RecordError) Unwrap() error { return e.Err }

// PoisonReason names the kind of error for errors.policy's metrics and
// dead-letter headers.
func (e *RecordError) PoisonReason() string { return e.Reason }

func recordErr(reason string, id int, format string, args ...any) *RecordError {
	return &RecordError{Reason: reason, ID: id, Err: fmt.Errorf(format, args...)}
}
