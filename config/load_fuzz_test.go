package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// checkLoaded holds for any Load outcome: errors are FieldErrors (or the
// one file error), a loaded configuration validates, and its YAML loads
// back to the same configuration.
func checkLoaded(t *testing.T, cfg Config, err error, fileErrOK bool) {
	t.Helper()
	if err != nil {
		fes := fieldErrors(err)
		if len(fes) == 0 && !fileErrOK {
			t.Fatalf("got %v, want *FieldErrors", err)
		}
		for _, fe := range fes {
			if fe.Key == "" || fe.Reason == "" {
				t.Errorf("got a FieldError without key or reason: %#v", fe)
			}
		}
		return
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Load succeeded but Validate says %v", err)
	}
	out, err := cfg.YAML()
	if err != nil {
		t.Fatalf("YAML: %v", err)
	}
	path := filepath.Join(t.TempDir(), "effective.yaml")
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
	again, err := Load(path, nil)
	if err != nil {
		t.Fatalf("rendered config does not load: %v\n%s", err, out)
	}
	if !reflect.DeepEqual(emptySlices(again), emptySlices(cfg)) {
		t.Errorf("round trip changed the config:\ngot  %+v\nwant %+v\nvia\n%s", again, cfg, out)
	}
}

// emptySlices returns cfg with every nil slice made empty: "keys: ~" and
// "keys: []" both mean no keys, and the rendering says [] for either.
func emptySlices(cfg Config) Config {
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.Struct:
			for i := range v.NumField() {
				walk(v.Field(i))
			}
		case reflect.Slice:
			if v.IsNil() {
				v.Set(reflect.MakeSlice(v.Type(), 0, 0))
			}
		}
	}
	walk(reflect.ValueOf(&cfg).Elem())
	return cfg
}

// FuzzLoadYAML loads arbitrary YAML documents.
func FuzzLoadYAML(f *testing.F) {
	for _, seed := range []string{
		"",
		"kafka:\n  brokers: [k1:9092, k2:9092]\n  topics: [events]\n",
		"stream:\n  key: \"{topic}:{header:tenant}\"\n  fallback_key: \"dead:{topic}\"\n",
		"batch: {max_events: 500, timeout: 1500us}\nretry: {max_backoff: 90s}\n",
		"redis: {password: \"p: w#d\", tls: {enabled: true}}\nkafka: {sasl: {mechanism: scram-sha-512, username: u, password: x}}\n",
		"encryption: {enabled: true, key_id: a, keys: [a=/k/a], headers: []}\n",
		"flush_timeout: 30\n",
		"kafka:\n  brokers: k:1, k:2\n",
		"stream: ~\n",
		"http: {listen: \"[::1]:0\"}\nlog: {level: debug, format: text}\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		path := filepath.Join(t.TempDir(), "c.yaml")
		if err := os.WriteFile(path, doc, 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := Load(path, nil)
		checkLoaded(t, cfg, err, true)
	})
}

// FuzzLoadEnv loads one KRC_ variable with an arbitrary value, on top of a
// file that sets a few keys.
func FuzzLoadEnv(f *testing.F) {
	for _, seed := range [][2]string{
		{"KRC_KAFKA_BROKERS", "a:1, b:2"},
		{"KRC_BATCH_MAX_EVENTS", "500"},
		{"KRC_BATCH_TIMEOUT", "250ms"},
		{"KRC_STREAM_METADATA", "offset,topic"},
		{"KRC_KAFKA_TLS_ENABLED", "TRUE"},
		{"KRC_CIRCUIT_BREAKER_FAILURE_THRESHOLD", "-1"},
		{"KRC_ENCRYPTION_KEYS", "a=/k/a,b=/k/b"},
		{"KRC_REDIS_PASSWORD", "s3cret"},
		{"KRC_STREAM_KEYY", "x"},
		{"PATH", "/usr/bin"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, name, value string) {
		if strings.ContainsRune(name, '=') {
			return // not a variable name
		}
		cfg, err := Load("", []string{name + "=" + value})
		checkLoaded(t, cfg, err, false)
		if err != nil && name == "KRC_REDIS_PASSWORD" && len(value) >= 6 && strings.Contains(err.Error(), value) {
			var fe *FieldError
			if errors.As(err, &fe) {
				t.Errorf("error %q shows the password", err)
			}
		}
	})
}
