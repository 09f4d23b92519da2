package bench

import "errors"

var (
	// ErrNoRedis is returned when no Redis answers at the configured address.
	ErrNoRedis = errors.New("bench: no redis answers")
	// ErrInvalidConfig wraps every problem with a Config.
	ErrInvalidConfig = errors.New("bench: invalid configuration")
)
