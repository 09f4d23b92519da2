package config

// The delivery guarantees (delivery.guarantee).
const (
	// AtLeastOnce commits Kafka offsets after Redis acknowledged the
	// entries: a crash or a reply lost between the two re-writes the
	// uncommitted tail, so a stream may hold an entry twice.
	AtLeastOnce = "at_least_once"
	// ExactlyOnce stores, per stream, the highest offset written of each
	// source partition in a companion hash, in the same atomic script as
	// the entries, and skips what the hash already covers: a re-read tail
	// adds nothing.
	ExactlyOnce = "exactly_once"
)

// Delivery chooses what the connector promises about duplicates.
type Delivery struct {
	// Guarantee is at_least_once or exactly_once (see sink/eos.go for what
	// exactly_once stores in Redis and what it costs).
	Guarantee string `koanf:"guarantee"`
}

// ExactlyOnce reports whether the guarantee is exactly_once.
func (d Delivery) ExactlyOnce() bool { return d.Guarantee == ExactlyOnce }

func (d Delivery) check(p *problemList, c Config) {
	p.oneOf("delivery.guarantee", d.Guarantee, AtLeastOnce, ExactlyOnce)
	if !d.ExactlyOnce() {
		return
	}
	// The exactly-once script writes only the entries: the commands the
	// at-least-once write adds after them (DEL, XTRIM, PEXPIRE, WAIT) are
	// not in it yet, so these settings would silently do nothing.
	const why = "is not supported with delivery.guarantee exactly_once yet"
	if c.Stream.Tombstones == "delete" {
		p.add("stream.tombstones", c.Stream.Tombstones, why+" (use skip or entry)")
	}
	if c.Stream.TTL > 0 {
		p.add("stream.ttl", c.Stream.TTL, why)
	}
	if c.Stream.MaxAge > 0 && c.Stream.MaxLen > 0 {
		p.add("stream.max_age", c.Stream.MaxAge, "together with stream.max_len "+why+" (either alone is)")
	}
	if c.Redis.WaitReplicas > 0 {
		p.add("redis.wait_replicas", c.Redis.WaitReplicas, why)
	}
}
