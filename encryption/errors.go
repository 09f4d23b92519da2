package encryption

import "errors"

var (
	// ErrUnknownKey means a sealed value names a key id the Keyring lacks.
	ErrUnknownKey = errors.New("encryption: unknown key id")
	// ErrMalformed means the input is not a sealed value: too short, or an
	// unknown format version.
	ErrMalformed = errors.New("encryption: not a sealed value")
	// ErrAuthentication means the value did not open: it was sealed with a
	// different key, for another field, or was altered.
	ErrAuthentication = errors.New("encryption: message authentication failed (wrong key, wrong field, or tampered value)")
	// ErrBadKey means a key or key file is unusable.
	ErrBadKey = errors.New("encryption: bad key")
)
