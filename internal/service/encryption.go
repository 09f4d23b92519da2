package service

import (
	"fmt"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
	"github.com/kafka-redis-connector/kafka-redis-connector/encryption"
	"github.com/kafka-redis-connector/kafka-redis-connector/sink"
)

// encryptionOpts returns the sink options for encryption.*: none when it is
// off, else a sealer for encryption.key_id's key. Only that key file is
// read; the others are for readers. A key that cannot be read is a
// configuration error (exit 2).
func encryptionOpts(enc config.Encryption) ([]sink.WriterOption, error) {
	if !enc.Enabled {
		return nil, nil
	}
	file, ok := enc.KeyFiles()[enc.KeyID]
	if !ok {
		return nil, &ConfigError{fmt.Errorf("encryption.key_id %s is not in encryption.keys", enc.KeyID)}
	}
	key, err := encryption.ReadKeyFile(file)
	if err != nil {
		return nil, &ConfigError{fmt.Errorf("encryption.keys: key %s: %w", enc.KeyID, err)}
	}
	s, err := encryption.NewSealer(enc.KeyID, key)
	if err != nil {
		return nil, &ConfigError{fmt.Errorf("encryption.keys: key %s: %w", enc.KeyID, err)}
	}
	return []sink.WriterOption{sink.WithSealer(s, enc.KeyIDField, enc.Headers)}, nil
}
