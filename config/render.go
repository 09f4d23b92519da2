package config

import (
	"bytes"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// YAML renders c with the same keys Load reads, in struct order, durations
// as strings such as "100ms", so Load of the output yields c again. Call
// Redacted first when the output is shown to anyone.
func (c Config) YAML() ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(yamlNode(reflect.ValueOf(c))); err != nil {
		return nil, fmt.Errorf("config: render yaml: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("config: render yaml: %w", err)
	}
	return buf.Bytes(), nil
}

func yamlNode(v reflect.Value) *yaml.Node {
	scalar := func(tag, value string) *yaml.Node {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: value}
	}
	switch {
	case v.Type() == durationType:
		return scalar("!!str", formatDuration(time.Duration(v.Int())))
	case v.Kind() == reflect.Struct:
		n := &yaml.Node{Kind: yaml.MappingNode}
		for i := range v.NumField() {
			tag := v.Type().Field(i).Tag.Get("koanf")
			if tag == "" || tag == "-" {
				continue
			}
			n.Content = append(n.Content, scalar("!!str", tag), yamlNode(v.Field(i)))
		}
		return n
	case v.Kind() == reflect.Slice:
		n := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
		for i := range v.Len() {
			n.Content = append(n.Content, yamlNode(v.Index(i)))
		}
		return n
	case v.Kind() == reflect.Bool:
		return scalar("!!bool", strconv.FormatBool(v.Bool()))
	case v.CanInt():
		return scalar("!!int", strconv.FormatInt(v.Int(), 10))
	case v.CanUint():
		return scalar("!!int", strconv.FormatUint(v.Uint(), 10))
	}
	return scalar("!!str", v.String())
}

// Redacted returns a copy of c with every non-empty secret (redis.password,
// kafka.sasl.password) replaced by "[redacted]". Secret file paths are not
// secrets and stay. The copy shares no slices with c.
func (c Config) Redacted() Config {
	r := c
	r.Kafka.Brokers = slices.Clone(c.Kafka.Brokers)
	r.Kafka.Topics = slices.Clone(c.Kafka.Topics)
	r.Redis.Addrs = slices.Clone(c.Redis.Addrs)
	r.Stream.Metadata = slices.Clone(c.Stream.Metadata)
	r.Encryption.Keys = slices.Clone(c.Encryption.Keys)
	r.Encryption.Headers = slices.Clone(c.Encryption.Headers)
	if r.Redis.Password != "" {
		r.Redis.Password = redactedText
	}
	if r.Kafka.SASL.Password != "" {
		r.Kafka.SASL.Password = redactedText
	}
	return r
}

// ReadSecret returns value, or, when file is set, the contents of file with
// surrounding whitespace trimmed (secret files usually end in a newline).
// Setting both, or a file that is empty, is an error.
func ReadSecret(value, file string) (string, error) {
	if file == "" {
		return value, nil
	}
	if value != "" {
		return "", fmt.Errorf("config: secret given both inline and in file %s", file)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("config: read secret: %w", err)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("config: secret file %s is empty", file)
	}
	return s, nil
}
