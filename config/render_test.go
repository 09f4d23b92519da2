package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestYAMLRoundTrip(t *testing.T) {
	custom := Default()
	custom.Kafka.Brokers = []string{"k1:9092", "k2:9092"}
	custom.Kafka.TopicsRegex = true
	custom.Kafka.Topics = []string{"events\\..*", "[a-z]+"}
	custom.Kafka.TLS = TLS{Enabled: true, CAFile: "/etc/ca.pem", ServerName: "kafka"}
	custom.Kafka.SASL = SASL{Mechanism: "SCRAM-SHA-512", Username: "user", Password: "p: w#d"}
	custom.Redis.Mode = "cluster"
	custom.Redis.Addrs = []string{"r1:7000", "r2:7001"}
	custom.Redis.Password = "true"
	custom.Stream.Key = "krc:{topic}:{header:tenant}"
	custom.Stream.FallbackKey = "krc:{topic}:unrouted"
	custom.Stream.Metadata = []string{}
	custom.Stream.MaxLen = 1_000_000
	custom.Batch.Timeout = 1500 * time.Microsecond
	custom.Retry.MaxBackoff = 90 * time.Second
	custom.Errors = Errors{Policy: "dlq", DLQTopic: "events.dlq"}
	custom.HTTP.Listen = ""

	tests := []struct {
		name string
		cfg  Config
	}{
		{"defaults", Default()},
		{"customised", custom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.cfg.Validate(); err != nil {
				t.Fatalf("test config invalid: %v", err)
			}
			out, err := tt.cfg.YAML()
			if err != nil {
				t.Fatalf("got error %v, want nil", err)
			}
			path := filepath.Join(t.TempDir(), "effective.yaml")
			if err := os.WriteFile(path, out, 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := Load(path, nil)
			if err != nil {
				t.Fatalf("got error %v loading\n%s\nwant nil", err, out)
			}
			if !reflect.DeepEqual(got, tt.cfg) {
				t.Errorf("got %+v, want %+v\nfrom\n%s", got, tt.cfg, out)
			}
		})
	}
}

func TestYAMLWritesDurationsAsStrings(t *testing.T) {
	out, err := Default().YAML()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"timeout: 100ms\n", "rebalance_timeout: 60s\n", "shutdown_timeout: 30s\n"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("got\n%s\nwant it to contain %q", out, want)
		}
	}
}

func TestRedacted(t *testing.T) {
	tests := []struct {
		name              string
		in                func(*Config)
		wantRedis, wantKS string
	}{
		{"no secrets", func(*Config) {}, "", ""},
		{"both secrets", func(c *Config) {
			c.Redis.Password = "hunter2"
			c.Kafka.SASL.Password = "swordfish"
		}, "[redacted]", "[redacted]"},
		{"file paths stay", func(c *Config) {
			c.Redis.PasswordFile = "/run/secrets/redis"
			c.Kafka.SASL.PasswordFile = "/run/secrets/kafka"
		}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.in(&c)
			orig := c
			r := c.Redacted()
			if r.Redis.Password != tt.wantRedis {
				t.Errorf("got redis.password %q, want %q", r.Redis.Password, tt.wantRedis)
			}
			if r.Kafka.SASL.Password != tt.wantKS {
				t.Errorf("got kafka.sasl.password %q, want %q", r.Kafka.SASL.Password, tt.wantKS)
			}
			if r.Redis.PasswordFile != c.Redis.PasswordFile || r.Kafka.SASL.PasswordFile != c.Kafka.SASL.PasswordFile {
				t.Errorf("got password files %q %q, want %q %q", r.Redis.PasswordFile, r.Kafka.SASL.PasswordFile, c.Redis.PasswordFile, c.Kafka.SASL.PasswordFile)
			}
			if !reflect.DeepEqual(c, orig) {
				t.Errorf("got original changed to %+v, want %+v", c, orig)
			}
			r.Kafka.Brokers[0] = "changed:1"
			if c.Kafka.Brokers[0] == "changed:1" {
				t.Error("got a redacted copy sharing kafka.brokers with the original, want a separate slice")
			}
			out, err := r.YAML()
			if err != nil {
				t.Fatal(err)
			}
			for _, secret := range []string{"hunter2", "swordfish"} {
				if strings.Contains(string(out), secret) {
					t.Errorf("got YAML containing %q, want it hidden", secret)
				}
			}
		})
	}
}

func TestReadSecret(t *testing.T) {
	dir := t.TempDir()
	withNewline := filepath.Join(dir, "secret")
	if err := os.WriteFile(withNewline, []byte("  s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing")

	tests := []struct {
		name, value, file string
		want, wantErr     string
	}{
		{name: "inline", value: "v", want: "v"},
		{name: "nothing", want: ""},
		{name: "file trimmed", file: withNewline, want: "s3cret"},
		{name: "missing file", file: missing, wantErr: missing},
		{name: "empty file", file: empty, wantErr: empty},
		{name: "both", value: "v", file: withNewline, wantErr: withNewline},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadSecret(tt.value, tt.file)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("got error %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %q, %v, want %q, nil", got, err, tt.want)
			}
		})
	}
}

func TestTemplateProblems(t *testing.T) {
	tests := []struct {
		tmpl     string
		fallback bool
		want     []string
	}{
		{"events", false, nil},
		{"{topic}.{partition}.{key}.{header:a:b}", false, nil},
		{"}{topic}", false, nil},
		{"{a}-{b}", false, []string{"unknown placeholder {a}", "unknown placeholder {b}"}},
		{"{topic}-{", false, []string{"unclosed placeholder {"}},
		{"{{topic}", false, []string{"unknown placeholder {{topic}"}},
		{"{topic}/{partition}", true, nil},
		{"{key}/{header:h}", true, []string{"placeholder {key}", "placeholder {header:h}"}},
	}
	for _, tt := range tests {
		t.Run(tt.tmpl, func(t *testing.T) {
			got := templateProblems(tt.tmpl, tt.fallback)
			if len(got) != len(tt.want) {
				t.Fatalf("got %q, want %d problems like %q", got, len(tt.want), tt.want)
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tt.want[i]) {
					t.Errorf("got %q, want prefix %q", got[i], tt.want[i])
				}
			}
		})
	}
}
