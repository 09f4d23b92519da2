package connector

import "github.com/twmb/franz-go/pkg/kgo"

// KafkaOpts exposes the consumer-group client options Run builds, for
// tests of the option wiring.
func KafkaOpts(c *Connector) []kgo.Opt { return c.kafkaOpts() }
