package sink

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// readPage is how many entries one XRANGE call asks for: large enough that
// reading a stream back costs few round trips, small enough that a reply
// stays a few megabytes.
const readPage = 10000

// ReadStream calls fn for every entry of the stream at key, oldest first,
// paging with XRANGE. A missing key is an empty stream.
func ReadStream(ctx context.Context, rdb redis.Cmdable, key string, fn func(id string, fields map[string]any) error) error {
	return ReadStreamRange(ctx, rdb, key, "-", "+", fn)
}

// ReadStreamRange is ReadStream over the entries from start to end
// (XRANGE's bounds: IDs, "-", "+", or "(" before an ID to exclude it). An
// error from fn ends the read and is returned, except ErrStopReading.
func ReadStreamRange(ctx context.Context, rdb redis.Cmdable, key, start, end string, fn func(id string, fields map[string]any) error) error {
	for {
		msgs, err := rdb.XRangeN(ctx, key, start, end, readPage).Result()
		if err != nil {
			return fmt.Errorf("sink: xrange %s: %w", key, err)
		}
		for _, m := range msgs {
			if err := fn(m.ID, m.Values); err != nil {
				if errors.Is(err, ErrStopReading) {
					return nil
				}
				return err
			}
		}
		if len(msgs) < readPage {
			return nil
		}
		start = "(" + msgs[len(msgs)-1].ID
	}
}
