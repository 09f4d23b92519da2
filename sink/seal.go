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

// SealWith makes the mapping seal each entry's value field, and the headers
// named (stored as stream.headers_prefix + name), with s, and add the field
// keyIDField holding s.KeyID(). It needs the raw stream format.
func SealWith(s Sealer, keyIDField string, headers []string) MappingOption {
	return func(m *FieldMapping) error {
		switch {
		case m.json:
			return errors.New("sink: encryption needs stream.format raw")
		case keyIDField == "":
			return errors.New("sink: encryption needs a key id field")
		}
		m.seal = s
		m.keyIDPair = []any{keyIDField, s.KeyID()}
		m.respKeyIDPair = appendBulk(appendBulk(nil, keyIDField), s.KeyID())
		m.sealHeaders = slices.Clone(headers)
		return nil
	}
}

// WriterOption configures optional behaviour of a Writer.
type WriterOption func(*Writer) error

// WithSealer builds the Writer's field mapping with SealWith(s, keyIDField,
// headers).
func WithSealer(s Sealer, keyIDField string, headers []string) WriterOption {
	return withMapping(SealWith(s, keyIDField, headers))
}

// withMapping adds o to the options NewWriter builds the field mapping
// with.
func withMapping(o MappingOption) WriterOption {
	return func(w *Writer) error {
		w.mappingOpts = append(w.mappingOpts, o)
		return nil
	}
}
