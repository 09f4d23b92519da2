package bench

import "errors"

var (
	// ErrNoRedis is returned when no Redis answers at the configured address.
	ErrNoRedis = errors.New("bench: no redis answers")
	// ErrNoRedisServer is returned when a private redis-server was asked
	// for and there is no redis-server executable.
	ErrNoRedisServer = errors.New("bench: no redis-server executable")
	// ErrInvalidConfig wraps every problem with a Config.
	ErrInvalidConfig = errors.New("bench: invalid configuration")
)
