package connector_test

import (
	"reflect"
	"slices"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
	"github.com/kafka-redis-connector/kafka-redis-connector/connector"
)

// TestMembershipOpts builds the client Run would build and reads back the
// options kafka.instance_id, kafka.rack and kafka.topics_exclude set.
func TestMembershipOpts(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	tests := []struct {
		name        string
		mutate      func(*config.Kafka)
		wantID      []any // OptValues(kgo.InstanceID): the id and whether it is set
		wantRack    string
		wantExclude []string
	}{
		{name: "defaults: dynamic member, no rack, nothing excluded",
			mutate: func(*config.Kafka) {}, wantID: []any{"", false}, wantExclude: nil},
		{name: "static member with a rack",
			mutate: func(k *config.Kafka) { k.InstanceID = "krc-0"; k.Rack = "use1-az1" },
			wantID: []any{"krc-0", true}, wantRack: "use1-az1", wantExclude: nil},
		{name: "exclusions with patterns",
			mutate: func(k *config.Kafka) {
				k.TopicsRegex = true
				k.Topics = []string{`^events\.`}
				k.TopicsExclude = []string{`\.dlq$`, `^events\.tmp`}
			},
			wantID: []any{"", false}, wantExclude: []string{`\.dlq$`, `^events\.tmp`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.Kafka.Brokers = cluster.ListenAddrs()
			tt.mutate(&cfg.Kafka)
			if err := cfg.Validate(); err != nil {
				t.Fatalf("config: %v", err)
			}
			cl, err := kgo.NewClient(connector.KafkaOpts(connector.New(cfg, nil))...)
			if err != nil {
				t.Fatalf("got client error %v, want nil", err)
			}
			defer cl.Close()
			if got := cl.OptValues(kgo.InstanceID); !reflect.DeepEqual(got, tt.wantID) {
				t.Errorf("instance id: got %v, want %v", got, tt.wantID)
			}
			if got := cl.OptValue(kgo.Rack); got != tt.wantRack {
				t.Errorf("rack: got %q, want %q", got, tt.wantRack)
			}
			if got, _ := cl.OptValue(kgo.ConsumeExcludeTopics).([]string); !slices.Equal(got, tt.wantExclude) {
				t.Errorf("excluded topics: got %q, want %q", got, tt.wantExclude)
			}
		})
	}
}
