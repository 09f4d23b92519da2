package sink

import (
	"errors"
	"slices"
)

// Sealer encrypts entry field values before they are written; the
// encryption package's *Sealer implements it.
type Sealer interface {
	// KeyID names the key, stored in every sealed entry.
	KeyID() string
	// AppendSeal appends the sealed plaintext, bound to field, to dst.
	AppendSeal(dst, plaintext []byte, field string) []byte
}

// WriterOption configures optional behaviour of a Writer.
type WriterOption func(*Writer) error

// WithSealer seals each entry's value field, and the headers named (stored
// as stream.headers_prefix + name), with s, and adds the field keyIDField
// holding s.KeyID(). It needs the raw stream format.
func WithSealer(s Sealer, keyIDField string, headers []string) WriterOption {
	return func(w *Writer) error {
		switch {
		case w.mapping.json:
			return errors.New("sink: encryption needs stream.format raw")
		case keyIDField == "":
			return errors.New("sink: encryption needs a key id field")
		}
		w.mapping.seal = s
		w.mapping.keyIDPair = []any{keyIDField, s.KeyID()}
		w.mapping.respKeyIDPair = appendBulk(appendBulk(nil, keyIDField), s.KeyID())
		w.mapping.sealHeaders = slices.Clone(headers)
		return nil
	}
}
