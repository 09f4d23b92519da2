package connector

import (
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
)

// MembershipOpts returns the franz-go options for kafka.instance_id,
// kafka.rack and kafka.topics_exclude; none for keys left empty.
//
// A static member (instance_id) does not leave the group when it closes:
// the coordinator keeps its partitions for it until session_timeout, so a
// restart within that time gets them back and the other members keep
// theirs, with no rebalance. The partitions are not read meanwhile, which
// is why session_timeout must cover a restart and no more.
func MembershipOpts(k config.Kafka) []kgo.Opt {
	var opts []kgo.Opt
	if k.InstanceID != "" {
		opts = append(opts, kgo.InstanceID(k.InstanceID))
	}
	if k.Rack != "" {
		// Only the fetch side: brokers with a rack-aware replica selector
		// serve this member from a replica in its rack (KIP-392). The
		// assignment stays the balancer's, rack-blind.
		opts = append(opts, kgo.Rack(k.Rack))
	}
	if k.TopicsRegex && len(k.TopicsExclude) > 0 {
		opts = append(opts, kgo.ConsumeExcludeTopics(k.TopicsExclude...))
	}
	return opts
}
