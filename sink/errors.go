package sink

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Per-record permanent errors: the record itself can never be written as it
// is, so errors.policy decides what becomes of it. These are the only errors
// Retryable calls permanent; everything else that can go wrong (server
// state, authentication, ACLs, routing, the network, replies this package
// does not know) would hit any record alike and is retried.
var (
	// ErrUnresolvableKey means the stream key template names a record part
	// (its key or a header) that the record lacks, and no fallback key is set.
	ErrUnresolvableKey = errors.New("sink: stream key template cannot be resolved for this record")
	// ErrInvalidJSON means stream.format is json and the value is not a JSON object.
	ErrInvalidJSON = errors.New("sink: record value is not a JSON object")
	// ErrEntryTooLarge means the entry exceeds stream.max_entry_bytes.
	ErrEntryTooLarge = errors.New("sink: entry exceeds stream.max_entry_bytes")
	// ErrUndecodable means stream.format (or key_format) decodes through the
	// schema registry and the record does not: a wrong magic byte, an
	// unknown schema id, a payload its schema cannot read.
	ErrUndecodable = errors.New("sink: record cannot be decoded")
	// ErrRejected wraps an error reply Redis gave for one entry because of
	// the entry itself: WRONGTYPE (its target key holds another type) or an
	// explicit ID Redis refuses (then ErrInvalidID is wrapped as well).
	ErrRejected = errors.New("sink: redis rejected the entry")
	// ErrInvalidID means Redis refused the entry's explicit ID: malformed,
	// 0-0, or not above the stream's last ID.
	ErrInvalidID = errors.New("sink: explicit stream entry ID is invalid or not above the stream's last")
	// ErrIDNotIncreasing means Redis refused the entry's ID because it is
	// not above the stream's top entry (stream.id other than "*"). It
	// wraps ErrInvalidID.
	ErrIDNotIncreasing = fmt.Errorf("%w: not above the stream's top entry", ErrInvalidID)
)

// ErrSchemaRegistryUnavailable means the schema registry could not be
// asked for a record's schema: the record waits, as for a Redis failure.
var ErrSchemaRegistryUnavailable = errors.New("sink: schema registry unavailable")

// ErrReplicaShortfall means fewer replicas than redis.wait_replicas
// acknowledged a write within redis.wait_timeout (or WAIT itself failed).
// The entries are in the primary, but not known to be on the replicas, so
// the write is not acknowledged: it is retryable and counts toward the
// breaker, and its retry adds the entries again.
var ErrReplicaShortfall = errors.New("sink: fewer replicas than redis.wait_replicas acknowledged the write")

// ErrNotAttempted fails the records of a partition after one whose XADD
// failed inside the exactly-once script (eos.go): they were not written,
// and are retried.
var ErrNotAttempted = errors.New("sink: not attempted after an earlier record of its partition failed")

// errNoCompanion marks a stream key whose companion hash (eos.go) cannot
// share its hash slot: it holds a '}' but no hash tag. It is the record's
// key, so it is reported as an unresolvable key.
var errNoCompanion = fmt.Errorf("%w: a key with '}' but no hash tag has no companion hash in its slot", ErrUnresolvableKey)

// errProtocol marks a reply the writer cannot parse; the connection is
// dropped and the batch retried.
var errProtocol = errors.New("sink: redis protocol error")

// errConnect marks a failure of the direct transport (direct.go) to open a
// connection: the dial, TLS or the AUTH/SELECT handshake (a password
// revoked after start-up). Nothing of the batch was sent, and no record is
// at fault, so it is retried (and counts toward the breaker) rather than
// handed to errors.policy.
var errConnect = errors.New("sink: cannot connect to redis")

// ErrStopReading, returned by a ReadStreamRange callback, ends the read
// early without an error (as fs.SkipAll ends a walk).
var ErrStopReading = errors.New("sink: stop reading")

// recordCaused lists the sentinels of the per-record permanent errors.
var recordCaused = []error{ErrUnresolvableKey, ErrInvalidJSON, ErrEntryTooLarge, ErrRejected, ErrInvalidID, ErrUndecodable}

// Retryable reports whether err is worth retrying: every failure except the
// ones the record itself causes. Context cancellation is not retryable: it
// is the caller giving up.
func Retryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	for _, kind := range recordCaused {
		if errors.Is(err, kind) {
			return false
		}
	}
	// A reply wrapped with context (as Write does) is classified by its
	// own text; an error that is not a reply is not the record's.
	var reply redis.Error
	return !errors.As(err, &reply) || replyKind(reply.Error()) == nil
}

// rejection returns err as a per-record error (wrapping ErrRejected) when it
// is an error reply caused by the entry itself, or nil when it is anything
// else: then the whole write is to be retried.
func rejection(err error, stream string) error {
	var reply redis.Error
	if !errors.As(err, &reply) {
		return nil
	}
	switch kind := replyKind(reply.Error()); kind {
	case nil:
		return nil
	case ErrRejected:
		return fmt.Errorf("%w: xadd %s: %v", ErrRejected, stream, err)
	default:
		return fmt.Errorf("%w (%w): xadd %s: %v", ErrRejected, kind, stream, err)
	}
}

// replyKind is the one place that maps Redis error strings to kinds. It
// returns the sentinel of a reply caused by the entry itself, or nil for
// every other reply: MISCONF, BUSY, LOADING, OOM, READONLY, NOREPLICAS,
// MOVED, NOAUTH, NOPERM (in all its forms: an ACL is never the record's
// fault), EXECABORT, unknown ERR replies and unknown prefixes alike.
func replyKind(msg string) error {
	switch {
	case strings.HasPrefix(msg, "WRONGTYPE "):
		// XADD touches only its target key.
		return ErrRejected
	case strings.HasPrefix(msg, "ERR The ID specified in XADD is equal or smaller than the target stream top item"):
		return ErrIDNotIncreasing
	case strings.HasPrefix(msg, "ERR The ID specified in XADD must be greater than 0-0"),
		strings.HasPrefix(msg, "ERR Invalid stream ID specified as stream command argument"):
		return ErrInvalidID
	}
	return nil
}
