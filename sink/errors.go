package sink

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/redis/go-redis/v9"
)

// Per-record permanent errors: the record can never be written as it is.
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
	// ErrRejected wraps an error reply Redis gave for one entry that retrying
	// cannot fix (WRONGTYPE, for example).
	ErrRejected = errors.New("sink: redis rejected the entry")
)

// ErrSchemaRegistryUnavailable means the schema registry could not be
// asked for a record's schema: the record waits, as for a Redis failure.
var ErrSchemaRegistryUnavailable = errors.New("sink: schema registry unavailable")

// Retryable reports whether err is worth retrying: network failures,
// timeouts and the Redis replies that describe a temporary state of the
// server. Context cancellation is not retryable: it is the caller giving up.
func Retryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	if errors.Is(err, ErrUnresolvableKey) || errors.Is(err, ErrInvalidJSON) ||
		errors.Is(err, ErrEntryTooLarge) || errors.Is(err, ErrRejected) || errors.Is(err, ErrUndecodable) {
		return false
	}
	if errors.Is(err, ErrSchemaRegistryUnavailable) {
		return true
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, errProtocol) || errors.Is(err, errConnect) || errors.Is(err, redis.ErrPoolTimeout) || errors.Is(err, redis.ErrClosed) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	// A TLS handshake that fails (an expired or replaced certificate) is
	// the connection's failure, not a record's: nothing was sent.
	var (
		verify   *tls.CertificateVerificationError
		alert    tls.AlertError
		header   tls.RecordHeaderError
		hostname x509.HostnameError
		unknown  x509.UnknownAuthorityError
		invalid  x509.CertificateInvalidError
	)
	if errors.As(err, &verify) || errors.As(err, &alert) || errors.As(err, &header) ||
		errors.As(err, &hostname) || errors.As(err, &unknown) || errors.As(err, &invalid) {
		return true
	}
	// A reply wrapped with context (as Write does) is classified by its own text.
	var reply redis.Error
	if errors.As(err, &reply) {
		return retryableReply(reply.Error())
	}
	return retryableReply(err.Error())
}

// retryableReply is the one place that maps Redis error strings to kinds.
func retryableReply(msg string) bool {
	for _, prefix := range []string{"LOADING", "READONLY", "MASTERDOWN", "TRYAGAIN",
		"CLUSTERDOWN", "OOM", "BUSY", "NOREPLICAS", "ERR max number of clients",
		// The connection is not authenticated (a password rotated after
		// start-up): no record is at fault, so the breaker, not
		// errors.policy, deals with it. So is an ACL user that may not run
		// XADD at all; NOPERM about a key, by contrast, is that record's.
		"WRONGPASS", "NOAUTH", "NOPERM this user has no permissions to run",
		"MOVED", "ASK", "redis: connection pool timeout", "redis: client is closed"} {
		if strings.HasPrefix(msg, prefix) {
			return true
		}
	}
	return false
}
