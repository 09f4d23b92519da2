package connector

import "errors"

var (
	// ErrPermanentRecord wraps the error of a record Redis can never accept
	// while errors.policy is fail: the connector stops, and nothing past
	// that record is committed.
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
