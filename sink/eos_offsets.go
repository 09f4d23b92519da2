package sink

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"sync"

	"github.com/redis/go-redis/v9"
)

// StoredOffset is one field of a companion hash: the offset of the last
// record of Topic/Partition written to Stream.
type StoredOffset struct {
	Stream    string
	Topic     string
	Partition int32
	Offset    int64
}

// companionPatterns match the two forms of companion names (CompanionKey).
var companionPatterns = []string{CompanionPrefix + "{*}", "*" + CompanionSuffix}

// scanCompanions returns the companion hashes on client (on every master of
// a cluster), as node client -> names.
func scanCompanions(ctx context.Context, client redis.UniversalClient) (map[redis.Cmdable][]string, error) {
	out := map[redis.Cmdable][]string{}
	var mu sync.Mutex
	scan := func(ctx context.Context, c redis.Cmdable) error {
		seen := map[string]bool{}
		for _, pattern := range companionPatterns {
			iter := c.ScanType(ctx, 0, pattern, 1000, "hash").Iterator()
			for iter.Next(ctx) {
				name := iter.Val()
				if _, ok := StreamOfCompanion(name); ok && !seen[name] {
					seen[name] = true
				}
			}
			if err := iter.Err(); err != nil {
				return err
			}
		}
		names := make([]string, 0, len(seen))
		for name := range seen {
			names = append(names, name)
		}
		sort.Strings(names)
		mu.Lock()
		out[c] = names
		mu.Unlock()
		return nil
	}
	var err error
	if cc, ok := client.(*redis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return scan(ctx, c) })
	} else {
		err = scan(ctx, client)
	}
	if err != nil {
		return nil, fmt.Errorf("sink: scan companion hashes: %w", err)
	}
	return out, nil
}

// ReadStoredOffsets returns what the companion hashes hold for the source
// topics accepted by topic (every stream, every partition), sorted by
// stream, topic and partition.
func ReadStoredOffsets(ctx context.Context, client redis.UniversalClient, topic func(string) bool) ([]StoredOffset, error) {
	nodes, err := scanCompanions(ctx, client)
	if err != nil {
		return nil, err
	}
	var out []StoredOffset
	for node, names := range nodes {
		for _, name := range names {
			stream, _ := StreamOfCompanion(name)
			fields, err := node.HGetAll(ctx, name).Result()
			if err != nil {
				return nil, fmt.Errorf("sink: read %s: %w", name, err)
			}
			for field, v := range fields {
				t, p, ok := ParseOffsetField(field)
				off, err := strconv.ParseInt(v, 10, 64)
				if !ok || err != nil || !topic(t) {
					continue
				}
				out = append(out, StoredOffset{Stream: stream, Topic: t, Partition: p, Offset: off})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Stream != b.Stream {
			return a.Stream < b.Stream
		}
		if a.Topic != b.Topic {
			return a.Topic < b.Topic
		}
		return a.Partition < b.Partition
	})
	return out, nil
}

// ResetStoredOffsets makes every companion hash consistent with a group
// about to read topic/partition from next[topic][partition]: a stored
// offset at or above it is lowered to next-1 (so the records from next on
// are written again), and with next -1 (from the earliest) the field is
// deleted. Fields of other topics stay. It returns how many fields changed.
func ResetStoredOffsets(ctx context.Context, client redis.UniversalClient, next map[string]map[int32]int64) (int, error) {
	nodes, err := scanCompanions(ctx, client)
	if err != nil {
		return 0, err
	}
	changed := 0
	for node, names := range nodes {
		for _, name := range names {
			fields, err := node.HGetAll(ctx, name).Result()
			if err != nil {
				return changed, fmt.Errorf("sink: read %s: %w", name, err)
			}
			for field, v := range fields {
				t, p, ok := ParseOffsetField(field)
				if !ok {
					continue
				}
				target, ok := next[t][p]
				if !ok {
					continue
				}
				stored, err := strconv.ParseInt(v, 10, 64)
				switch {
				case target < 0:
					err = node.HDel(ctx, name, field).Err()
				case err != nil || stored >= target:
					err = node.HSet(ctx, name, field, strconv.FormatInt(target-1, 10)).Err()
				default:
					continue // Redis holds less than the group will re-read
				}
				if err != nil {
					return changed, fmt.Errorf("sink: reset %s %s: %w", name, field, err)
				}
				changed++
			}
		}
	}
	return changed, nil
}
