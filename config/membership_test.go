package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestMembershipAccepts(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
	}{
		{"pod name as instance id", func(c *Config) { c.Kafka.InstanceID = "krc-0" }},
		{"instance id of every allowed character", func(c *Config) { c.Kafka.InstanceID = "aZ09._-" }},
		{"instance id of 249 characters", func(c *Config) { c.Kafka.InstanceID = strings.Repeat("a", 249) }},
		{"rack", func(c *Config) { c.Kafka.Rack = "eu-west-1a" }},
		{"rack with inner space", func(c *Config) { c.Kafka.Rack = "zone a" }},
		{"exclusions with patterns", func(c *Config) {
			c.Kafka.TopicsRegex = true
			c.Kafka.Topics = []string{`^events\.`}
			c.Kafka.TopicsExclude = []string{`\.dlq$`, `^events\.internal-`}
		}},
		{"exclusion with a comma inside", func(c *Config) {
			c.Kafka.TopicsRegex = true
			c.Kafka.Topics = []string{".*"}
			c.Kafka.TopicsExclude = []string{`^tmp-\d{1,3}$`}
		}},
		{"no exclusions without patterns", func(c *Config) { c.Kafka.TopicsExclude = []string{} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.mutate(&c)
			if err := c.Validate(); err != nil {
				t.Errorf("got %v, want nil", err)
			}
		})
	}
}

func TestMembershipRejects(t *testing.T) {
	regex := func(c *Config, exclude ...string) {
		c.Kafka.TopicsRegex = true
		c.Kafka.Topics = []string{".*"}
		c.Kafka.TopicsExclude = exclude
	}
	tests := []struct {
		name              string
		mutate            func(*Config)
		key, value, match string
	}{
		{"instance id too long", func(c *Config) { c.Kafka.InstanceID = strings.Repeat("a", 250) },
			"kafka.instance_id", strings.Repeat("a", 250), "is 250 characters; Kafka accepts at most 249"},
		{"instance id with a slash", func(c *Config) { c.Kafka.InstanceID = "ns/krc-0" },
			"kafka.instance_id", "ns/krc-0", "only letters, digits, '.', '_' and '-'"},
		{"instance id with a space", func(c *Config) { c.Kafka.InstanceID = "krc 0" },
			"kafka.instance_id", `"krc 0"`, "only letters, digits"},
		{"instance id dot", func(c *Config) { c.Kafka.InstanceID = "." }, "kafka.instance_id", ".", `must not be "." or ".."`},
		{"instance id dot dot", func(c *Config) { c.Kafka.InstanceID = ".." }, "kafka.instance_id", "..", `must not be "." or ".."`},
		{"rack with trailing space", func(c *Config) { c.Kafka.Rack = "eu-1a " }, "kafka.rack", `"eu-1a "`, "white space"},
		{"rack with a newline inside", func(c *Config) { c.Kafka.Rack = "eu\n1a" }, "kafka.rack", `"eu\n1a"`, "control characters"},
		{"exclusions without topics_regex", func(c *Config) { c.Kafka.TopicsExclude = []string{"x"} },
			"kafka.topics_exclude", "[x]", "needs kafka.topics_regex: true"},
		{"invalid exclusion", func(c *Config) { regex(c, "ok", "dl(q") },
			"kafka.topics_exclude", "dl(q", "not a valid regular expression"},
		{"empty exclusion", func(c *Config) { regex(c, "") },
			"kafka.topics_exclude", `""`, "matches every topic"},
		{"exclusion cut at its comma", func(c *Config) { regex(c, `^tmp-\d{1`, `3}$`) },
			"kafka.topics_exclude", `^tmp-\d{1`, `write \, for a comma`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.mutate(&c)
			err := c.Validate()
			if err == nil {
				t.Fatal("got nil error, want one")
			}
			wantProblem(t, err, tt.key, tt.value, tt.match)
		})
	}
}

// TestMembershipFromEnvironment: the keys come from KRC_ variables, a
// comma inside an exclusion pattern as \, (the README's rule for lists).
func TestMembershipFromEnvironment(t *testing.T) {
	tests := []struct {
		name        string
		env         []string
		wantID      string
		wantRack    string
		wantExclude []string
		wantErrKey  string
	}{
		{
			name:   "instance id from the pod name",
			env:    []string{"KRC_KAFKA_INSTANCE_ID=krc-2", "KRC_KAFKA_RACK=use1-az1"},
			wantID: "krc-2", wantRack: "use1-az1", wantExclude: []string{},
		},
		{
			name:        "two exclusions, one with an escaped comma",
			env:         []string{"KRC_KAFKA_TOPICS_REGEX=true", "KRC_KAFKA_TOPICS=^events", `KRC_KAFKA_TOPICS_EXCLUDE=^events-\d{1\,3}$, \.dlq$`},
			wantExclude: []string{`^events-\d{1,3}$`, `\.dlq$`},
		},
		{
			name:        "unescaped comma cuts a pattern",
			env:         []string{"KRC_KAFKA_TOPICS_REGEX=true", "KRC_KAFKA_TOPICS=^events", `KRC_KAFKA_TOPICS_EXCLUDE=^events-\d{1,3}$`},
			wantExclude: []string{`^events-\d{1`, `3}$`},
			wantErrKey:  "kafka.topics_exclude",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Load("", tt.env)
			switch {
			case tt.wantErrKey == "" && err != nil:
				t.Fatalf("got %v, want nil", err)
			case tt.wantErrKey != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErrKey) {
					t.Fatalf("got %v, want an error naming %s", err, tt.wantErrKey)
				}
			}
			k := cfg.Kafka
			if k.InstanceID != tt.wantID || k.Rack != tt.wantRack || !reflect.DeepEqual(k.TopicsExclude, tt.wantExclude) {
				t.Errorf("got instance_id %q, rack %q, topics_exclude %q; want %q, %q, %q",
					k.InstanceID, k.Rack, k.TopicsExclude, tt.wantID, tt.wantRack, tt.wantExclude)
			}
		})
	}
}

// TestMembershipYAMLRoundTrip: what validate prints for the new keys loads
// back as the same configuration.
func TestMembershipYAMLRoundTrip(t *testing.T) {
	c := Default()
	c.Kafka.InstanceID = "krc-0"
	c.Kafka.Rack = "zone a"
	c.Kafka.TopicsRegex = true
	c.Kafka.Topics = []string{"^events"}
	c.Kafka.TopicsExclude = []string{`^events-\d{1,3}$`, `\.dlq$`}
	out, err := c.YAML()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Load(writeFile(t, string(out)), nil)
	if err != nil {
		t.Fatalf("got error %v loading\n%s\nwant nil", err, out)
	}
	if !reflect.DeepEqual(got.Kafka, c.Kafka) {
		t.Errorf("got %+v, want %+v\nfrom\n%s", got.Kafka, c.Kafka, out)
	}
}
