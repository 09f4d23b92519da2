package schemaregistry

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
)

func testConfig(url string) config.SchemaRegistry {
	cfg := config.Default().SchemaRegistry
	cfg.URL = url
	cfg.Timeout = 2 * time.Second
	return cfg
}

const pointSchema = `{"type":"record","name":"Point","fields":[{"name":"x","type":"int"}]}`

func TestCacheServesKnownSchemasWithoutRequests(t *testing.T) {
	fake, reg, m := newTestRegistry(t, 10)
	id, _, _ := fake.RegisterSchema("p-value", sr.Schema{Schema: pointSchema})
	rec := wire(t, id, nil, []byte{0x02}) // x = 1
	for range 5 {
		if got, err := reg.Decoder(Avro).AppendJSON(context.Background(), nil, rec); err != nil || string(got) != `{"x":1}` {
			t.Fatalf("got %s, %v, want {\"x\":1}", got, err)
		}
	}
	if got := testutil.ToFloat64(m.Requests); got != 1 {
		t.Errorf("got %v requests, want 1", got)
	}
	if got := testutil.ToFloat64(m.CacheHits); got != 4 {
		t.Errorf("got %v cache hits, want 4", got)
	}
	if got := testutil.ToFloat64(m.CacheMisses); got != 1 {
		t.Errorf("got %v cache misses, want 1", got)
	}
}

func TestOneFetchPerIDUnderConcurrency(t *testing.T) {
	fake, reg, m := newTestRegistry(t, 10)
	id, _, _ := fake.RegisterSchema("p-value", sr.Schema{Schema: pointSchema})
	release := make(chan struct{})
	var arrived atomic.Int32
	fake.Intercept(func(http.ResponseWriter, *http.Request) bool {
		arrived.Add(1)
		<-release // hold the first fetch until every decoder is waiting
		return false
	})
	const decoders = 32
	var wg sync.WaitGroup
	errs := make(chan error, decoders)
	for range decoders {
		wg.Go(func() {
			_, err := reg.Decoder(Avro).AppendJSON(context.Background(), nil, wire(t, id, nil, []byte{0x02}))
			errs <- err
		})
	}
	for arrived.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	// The misses are counted before the shared fetch: wait until all 32 are in.
	for testutil.ToFloat64(m.CacheMisses)+testutil.ToFloat64(m.CacheHits) < decoders {
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("got %v, want no error", err)
		}
	}
	if got := testutil.ToFloat64(m.Requests); got != 1 {
		t.Errorf("got %v requests for %d concurrent decoders, want 1", got, decoders)
	}
}

func TestCacheIsBounded(t *testing.T) {
	fake, reg, m := newTestRegistry(t, 2)
	var ids []int
	for i, s := range []string{
		`{"type":"record","name":"A","fields":[{"name":"x","type":"int"}]}`,
		`{"type":"record","name":"B","fields":[{"name":"x","type":"int"}]}`,
		`{"type":"record","name":"C","fields":[{"name":"x","type":"int"}]}`,
	} {
		id, _, err := fake.RegisterSchema("s"+string(rune('a'+i)), sr.Schema{Schema: s})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	for _, id := range append(ids, ids[0]) { // the first is evicted by the third
		if _, err := reg.Decoder(Avro).AppendJSON(context.Background(), nil, wire(t, id, nil, []byte{0x02})); err != nil {
			t.Fatal(err)
		}
	}
	if got := testutil.ToFloat64(m.CachedSchemas); got != 2 {
		t.Errorf("got %v cached schemas, want 2 (cache_size)", got)
	}
	if got := testutil.ToFloat64(m.Requests); got != 4 {
		t.Errorf("got %v requests, want 4 (the evicted schema fetched again)", got)
	}
}

func TestRegistryFailuresAreRetryable(t *testing.T) {
	tests := []struct {
		name   string
		status int
	}{
		{"500", http.StatusInternalServerError},
		{"503", http.StatusServiceUnavailable},
		{"401", http.StatusUnauthorized},
		{"429", http.StatusTooManyRequests},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, reg, m := newTestRegistry(t, 10)
			id, _, _ := fake.RegisterSchema("p-value", sr.Schema{Schema: pointSchema})
			fake.Intercept(func(w http.ResponseWriter, _ *http.Request) bool {
				w.WriteHeader(tt.status)
				return true
			})
			_, err := reg.Decoder(Avro).AppendJSON(context.Background(), nil, wire(t, id, nil, []byte{0x02}))
			var re *RecordError
			if !errors.Is(err, ErrUnavailable) || errors.As(err, &re) {
				t.Fatalf("got %v, want ErrUnavailable and no RecordError", err)
			}
			if got := testutil.ToFloat64(m.Errors.WithLabelValues(errUnavailable)); got != 1 {
				t.Errorf("got %v unavailable errors, want 1", got)
			}
			// Not cached: once the registry answers, the record decodes.
			fake.ClearInterceptors()
			if _, err := reg.Decoder(Avro).AppendJSON(context.Background(), nil, wire(t, id, nil, []byte{0x02})); err != nil {
				t.Errorf("after recovery got %v, want no error", err)
			}
		})
	}
}

func TestOutageKeepsKnownSchemas(t *testing.T) {
	fake, reg, _ := newTestRegistry(t, 10)
	known, _, _ := fake.RegisterSchema("a-value", sr.Schema{Schema: pointSchema})
	unknown, _, _ := fake.RegisterSchema("b-value", sr.Schema{Schema: `{"type":"record","name":"Q","fields":[{"name":"y","type":"int"}]}`})
	dec := reg.Decoder(Avro)
	if _, err := dec.AppendJSON(context.Background(), nil, wire(t, known, nil, []byte{0x02})); err != nil {
		t.Fatal(err)
	}
	fake.Close() // connection refused from now on
	if got, err := dec.AppendJSON(context.Background(), nil, wire(t, known, nil, []byte{0x04})); err != nil || string(got) != `{"x":2}` {
		t.Errorf("known schema during the outage: got %s, %v, want {\"x\":2}", got, err)
	}
	if _, err := dec.AppendJSON(context.Background(), nil, wire(t, unknown, nil, []byte{0x04})); !errors.Is(err, ErrUnavailable) {
		t.Errorf("new schema during the outage: got %v, want ErrUnavailable", err)
	}
}

func TestAuthFromFiles(t *testing.T) {
	dir := t.TempDir()
	pass, token := filepath.Join(dir, "pass"), filepath.Join(dir, "token")
	_ = os.WriteFile(pass, []byte("s3cret\n"), 0o600)
	_ = os.WriteFile(token, []byte("tok\n"), 0o600)
	tests := []struct {
		name string
		set  func(*config.SchemaRegistry)
		want string
	}{
		{"basic", func(c *config.SchemaRegistry) { c.Username, c.PasswordFile = "krc", pass }, "Basic a3JjOnMzY3JldA=="},
		{"bearer", func(c *config.SchemaRegistry) { c.TokenFile = token }, "Bearer tok"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, _, _ := newTestRegistry(t, 10)
			id, _, _ := fake.RegisterSchema("p-value", sr.Schema{Schema: pointSchema})
			var got string
			fake.Intercept(func(_ http.ResponseWriter, r *http.Request) bool {
				got = r.Header.Get("Authorization")
				return false
			})
			cfg := testConfig(fake.URL())
			tt.set(&cfg)
			reg, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := reg.Decoder(Avro).AppendJSON(context.Background(), nil, wire(t, id, nil, []byte{0x02})); err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got Authorization %q, want %q", got, tt.want)
			}
		})
	}
	if _, err := New(config.SchemaRegistry{URL: "http://x", TokenFile: filepath.Join(dir, "missing")}); err == nil {
		t.Error("got no error for a missing token file, want one")
	}
}
