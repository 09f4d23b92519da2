// Package encryption seals stream entry fields with AES-256-GCM before the
// connector writes them to Redis, and opens them again for consumers.
//
// A sealed value is 1 version byte, a 12-byte nonce, the ciphertext and a
// 16-byte tag (Overhead bytes more than the plaintext). The additional data
// binds it to the key id and to the name of the entry field it is stored in,
// so a value moved to another field, or labelled with another key id, does
// not open. The entry names its key in a separate field (encryption.key_id_field),
// which is what lets keys rotate: new entries use the current key, and
// readers keep the older keys in their Keyring for as long as entries sealed
// with them exist.
//
// Consumers decrypt an entry read with XRANGE/XREAD with Keyring.OpenEntry,
// or the `kafka-redis-connector decrypt` command.
//
// The "ID=FILE" form of encryption.keys and the rule for key ids belong to
// the configuration (config.ParseKeySpec, config.ValidKeyID); LoadKeyring
// reads keys given in that form.
package encryption
