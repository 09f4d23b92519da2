package config

import (
	"reflect"
	"strings"
	"testing"
)

// trickyScalars are plain YAML scalars that YAML resolves to something other
// than a string (int, float, bool, null) or whose canonical form differs
// from the text. A string key must keep the text; only a null empties it.
var trickyScalars = []struct {
	name, yaml, want string
}{
	{"leading zeros", "007", "007"},
	{"octal-looking", "0123", "0123"},
	{"exponent", "1e3", "1e3"},
	{"hex", "0x1F", "0x1F"},
	{"octal 0o", "0o17", "0o17"},
	{"underscores", "1_000", "1_000"},
	{"plus sign", "+1", "+1"},
	{"negative zero", "-0", "-0"},
	{"trailing zero", "1.50", "1.50"},
	{"infinity", ".inf", ".inf"},
	{"not a number", ".NaN", ".NaN"},
	{"true", "true", "true"},
	{"True", "True", "True"},
	{"FALSE", "FALSE", "FALSE"},
	{"quoted number", `"007"`, "007"},
	{"quoted empty", `""`, ""},
	{"quoted null", `'null'`, "null"},
	{"null", "null", ""},
	{"tilde", "~", ""},
	{"explicit str tag", "!!str 0123", "0123"},
	{"date", "2001-12-14", "2001-12-14"},
}

// stringKeys returns the leaves of type string, in struct order.
func stringKeys() []leaf {
	var out []leaf
	for _, l := range knownKeys().leaves {
		if l.typ.Kind() == reflect.String {
			out = append(out, l)
		}
	}
	return out
}

// nestedYAML writes key (a dotted path) = value as nested block mappings.
func nestedYAML(b *strings.Builder, key, value string) {
	parts := strings.Split(key, ".")
	for i, p := range parts {
		b.WriteString(strings.Repeat("  ", i) + p + ":")
		if i == len(parts)-1 {
			b.WriteString(" " + value)
		}
		b.WriteString("\n")
	}
}

func TestLoadKeepsStringScalarsAsWritten(t *testing.T) {
	keys := stringKeys()
	if len(keys) < 20 {
		t.Fatalf("got %d string keys, want the whole set (at least 20)", len(keys))
	}
	for _, sc := range trickyScalars {
		t.Run(sc.name, func(t *testing.T) {
			for _, l := range keys {
				t.Run(l.key, func(t *testing.T) {
					var b strings.Builder
					nestedYAML(&b, l.key, sc.yaml)
					cfg, err := Load(writeFile(t, b.String()), nil)
					want := sc.want
					if l.key == "kafka.sasl.mechanism" {
						want = strings.ToUpper(want) // Load upper-cases the mechanism
					}
					got := reflect.ValueOf(cfg).FieldByIndex(l.index).String()
					if got != want {
						t.Errorf("%s: %s: got %q, want %q", l.key, sc.yaml, got, want)
					}
					// A rule that rejects the value must show it as written.
					for _, fe := range fieldErrors(err) {
						if fe.Key == l.key && fe.Value != redactedText && fe.Value != display(want) && fe.Value != display(sc.want) {
							t.Errorf("%s: %s: error shows value %s, want %s: %v", l.key, sc.yaml, fe.Value, display(want), fe)
						}
					}
				})
			}
		})
	}
}

func TestLoadKeepsListItemsAsWritten(t *testing.T) {
	var items, want []string
	for _, sc := range trickyScalars {
		if sc.want == "" {
			continue // a null item is not a string; an empty one is dropped by nothing
		}
		items = append(items, sc.yaml)
		want = append(want, sc.want)
	}
	for _, l := range knownKeys().leaves {
		if l.typ.Kind() != reflect.Slice {
			continue
		}
		t.Run(l.key, func(t *testing.T) {
			var b strings.Builder
			nestedYAML(&b, l.key, "["+strings.Join(items, ", ")+"]")
			cfg, _ := Load(writeFile(t, b.String()), nil)
			got := reflect.ValueOf(cfg).FieldByIndex(l.index).Interface().([]string)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %q, want %q", got, want)
			}
		})
	}
}

func TestLoadKeepsAnchoredAndMergedScalars(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       func(*Config)
	}{
		{
			name: "alias",
			yaml: "kafka: {group: &g 007}\nstream: {key: *g}\n",
			want: func(c *Config) { c.Kafka.Group, c.Stream.Key = "007", "007" },
		},
		{
			name: "merge key",
			yaml: "kafka:\n  tls: &t {enabled: true, server_name: 0123}\nredis:\n  tls:\n    <<: *t\n    ca_file: 1e3\n",
			want: func(c *Config) {
				c.Kafka.TLS = TLS{Enabled: true, ServerName: "0123"}
				c.Redis.TLS = TLS{Enabled: true, ServerName: "0123", CAFile: "1e3"}
			},
		},
		{
			name: "explicit key beats merged",
			yaml: "kafka: {tls: &t {server_name: 007}}\nredis: {tls: {<<: *t, server_name: 008}}\n",
			want: func(c *Config) { c.Kafka.TLS.ServerName, c.Redis.TLS.ServerName = "007", "008" },
		},
		{
			name: "earlier merge source wins",
			yaml: "kafka: {tls: &a {server_name: 01}}\nstream: &b {server_name: 02, ca_file: 03}\nredis: {tls: {<<: [*a, *b]}}\n",
			want: func(c *Config) {
				c.Kafka.TLS.ServerName = "01"
				c.Redis.TLS.ServerName, c.Redis.TLS.CAFile = "01", "03"
			},
		},
		{
			name: "list alias",
			yaml: "kafka: {topics: &l [007, 1e3]}\nstream: {metadata: [offset]}\nredis: {addrs: [h:1]}\nencryption: {headers: *l}\n",
			want: func(c *Config) {
				c.Kafka.Topics = []string{"007", "1e3"}
				c.Stream.Metadata = []string{"offset"}
				c.Redis.Addrs = []string{"h:1"}
				c.Encryption.Headers = []string{"007", "1e3"}
			},
		},
		{
			name: "comma-separated string list",
			yaml: "kafka:\n  topics: 007, 1e3\n",
			want: func(c *Config) { c.Kafka.Topics = []string{"007", "1e3"} },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := Load(writeFile(t, tt.yaml), nil)
			want := Default()
			tt.want(&want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %+v, want %+v", got, want)
			}
		})
	}
}

// TestLoadNonStringKeysStillResolve: the fix keeps text only for string
// keys; numbers and booleans still parse as YAML says.
func TestLoadNonStringKeysStillResolve(t *testing.T) {
	cfg, err := Load(writeFile(t, "batch: {max_events: 1e3, max_bytes: 0x100000}\nkafka: {topics_regex: True}\nredis: {db: 0o1}\n"), nil)
	if err != nil {
		t.Fatalf("got error %v, want nil", err)
	}
	got := []any{cfg.Batch.MaxEvents, cfg.Batch.MaxBytes, cfg.Kafka.TopicsRegex, cfg.Redis.DB}
	want := []any{1000, 1 << 20, true, 1}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestLoadListCommas(t *testing.T) {
	regex := "KRC_KAFKA_TOPICS_REGEX=true"
	tests := []struct {
		name    string
		yaml    string
		environ []string
		want    func(*Config)
	}{
		{
			name:    "escaped comma stays in a regex",
			environ: []string{regex, `KRC_KAFKA_TOPICS=^events-\d{1\,3}$`},
			want: func(c *Config) {
				c.Kafka.TopicsRegex = true
				c.Kafka.Topics = []string{`^events-\d{1,3}$`}
			},
		},
		{
			name:    "escaped and separating commas",
			environ: []string{regex, `KRC_KAFKA_TOPICS=^a{1\,3}$, (x|y)\.z ,b[\,;]`},
			want: func(c *Config) {
				c.Kafka.TopicsRegex = true
				c.Kafka.Topics = []string{`^a{1,3}$`, `(x|y)\.z`, `b[,;]`}
			},
		},
		{
			name:    "other backslashes are kept",
			environ: []string{regex, `KRC_KAFKA_TOPICS=a\.b,c\\d,\d+`},
			want: func(c *Config) {
				c.Kafka.TopicsRegex = true
				c.Kafka.Topics = []string{`a\.b`, `c\\d`, `\d+`}
			},
		},
		{
			name:    "escaped comma in another list",
			environ: []string{`KRC_STREAM_HEADERS_PREFIX=h_`, `KRC_ENCRYPTION_HEADERS=x\,y,z`},
			want: func(c *Config) {
				c.Stream.HeadersPrefix = "h_"
				c.Encryption.Headers = []string{"x,y", "z"}
			},
		},
		{
			name: "escaped comma in a yaml comma-separated list",
			yaml: "kafka:\n  topics_regex: true\n  topics: '^a{1\\,3}$, b'\n",
			want: func(c *Config) {
				c.Kafka.TopicsRegex = true
				c.Kafka.Topics = []string{`^a{1,3}$`, "b"}
			},
		},
		{
			name:    "commas between whole regexes split",
			environ: []string{regex, `KRC_KAFKA_TOPICS=(a|b)+,[cd]{2},e`},
			want: func(c *Config) {
				c.Kafka.TopicsRegex = true
				c.Kafka.Topics = []string{`(a|b)+`, `[cd]{2}`, "e"}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := ""
			if tt.yaml != "" {
				file = writeFile(t, tt.yaml)
			}
			got, err := Load(file, tt.environ)
			if err != nil {
				t.Fatalf("got error %v, want nil", err)
			}
			want := Default()
			tt.want(&want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got topics %q headers %q, want %q %q", got.Kafka.Topics, got.Encryption.Headers, want.Kafka.Topics, want.Encryption.Headers)
			}
		})
	}
}

// TestLoadRejectsARegexCutAtAComma: a comma inside (...), [...] or {...} of
// a pattern would split it into pieces that each compile and match other
// topics (or none); Load says so instead.
func TestLoadRejectsARegexCutAtAComma(t *testing.T) {
	tests := []struct {
		name, yaml string
		environ    []string
		value      string
	}{
		{"repeat count", "", []string{"KRC_KAFKA_TOPICS_REGEX=true", `KRC_KAFKA_TOPICS=^events-\d{1,3}$`}, `"^events-\\d{1,3}$"`},
		{"group", "", []string{"KRC_KAFKA_TOPICS_REGEX=true", `KRC_KAFKA_TOPICS=(a,b)x`}, `"(a,b)x"`},
		{"class", "", []string{"KRC_KAFKA_TOPICS_REGEX=true", `KRC_KAFKA_TOPICS=x[,;]`}, `"x[,;]"`},
		{"yaml string", "kafka:\n  topics_regex: true\n  topics: 'a{2,}'\n", nil, `"a{2,}"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := ""
			if tt.yaml != "" {
				file = writeFile(t, tt.yaml)
			}
			_, err := Load(file, tt.environ)
			wantProblem(t, err, "kafka.topics", tt.value, `write \, for a comma inside a pattern`)
			if got := len(fieldErrors(err)); got != 1 {
				t.Errorf("got %d problems (%v), want 1", got, err)
			}
		})
	}
}

// TestYAMLRoundTripKeepsTrickyStrings: the rendering quotes what YAML
// would otherwise resolve, so validate's output loads back unchanged.
func TestYAMLRoundTripKeepsTrickyStrings(t *testing.T) {
	for _, sc := range trickyScalars {
		t.Run(sc.name, func(t *testing.T) {
			cfg := Default()
			for _, l := range stringKeys() {
				reflect.ValueOf(&cfg).Elem().FieldByIndex(l.index).SetString(sc.want)
			}
			cfg.Kafka.SASL.Mechanism = strings.ToUpper(sc.want)
			cfg.Kafka.Topics = []string{sc.want, "x"}
			out, err := cfg.YAML()
			if err != nil {
				t.Fatal(err)
			}
			got, _ := Load(writeFile(t, string(out)), nil)
			if !reflect.DeepEqual(got, cfg) {
				t.Errorf("got %+v, want %+v\nvia\n%s", got, cfg, out)
			}
		})
	}
}
