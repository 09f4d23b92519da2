package encryption

import (
	"errors"
	"fmt"
)

// ErrNoKeyID means an entry lacks the key id field: it was not sealed (for
// example, written before encryption was turned on).
var ErrNoKeyID = errors.New("encryption: entry has no key id field")

// EntryFields names the fields of a stream entry that encryption touches,
// as the connector's configuration sets them.
type EntryFields struct {
	// KeyID is the field naming the key (encryption.key_id_field).
	KeyID string
	// Sealed lists the fields holding sealed values: stream.value_field and,
	// for each name in encryption.headers, stream.headers_prefix + name.
	// Fields absent from an entry are skipped (a record without that header).
	Sealed []string
}

// OpenEntry decrypts, in place, the sealed fields of one stream entry as
// go-redis returns it (redis.XMessage.Values: field -> string). Opened
// values are stored as strings; the key id field stays. It fails without
// changing values when any field does not open.
//
//	msgs, _ := rdb.XRange(ctx, "events", "-", "+").Result()
//	for _, m := range msgs {
//		if err := keys.OpenEntry(m.Values, fields); err != nil { ... }
//		fmt.Println(m.Values["value"])
//	}
func (k *Keyring) OpenEntry(values map[string]any, f EntryFields) error {
	id, ok := values[f.KeyID]
	if !ok {
		return fmt.Errorf("%w %q", ErrNoKeyID, f.KeyID)
	}
	keyID, ok := asBytes(id)
	if !ok {
		return fmt.Errorf("%w: key id field %s holds a %T", ErrMalformed, f.KeyID, id)
	}
	opened := make(map[string]string, len(f.Sealed))
	for _, name := range f.Sealed {
		v, present := values[name]
		if !present {
			continue
		}
		sealed, ok := asBytes(v)
		if !ok {
			return fmt.Errorf("%w: field %s holds a %T", ErrMalformed, name, v)
		}
		plain, err := k.Open(string(keyID), name, sealed)
		if err != nil {
			return err
		}
		opened[name] = string(plain)
	}
	for name, v := range opened {
		values[name] = v
	}
	return nil
}

func asBytes(v any) ([]byte, bool) {
	switch x := v.(type) {
	case string:
		return []byte(x), true
	case []byte:
		return x, true
	}
	return nil, false
}
