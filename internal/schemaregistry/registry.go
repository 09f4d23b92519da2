package schemaregistry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/hamba/avro/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/sr"
	"golang.org/x/sync/singleflight"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
)

// maxReferenceDepth bounds how deep schema references may nest.
const maxReferenceDepth = 16

// Registry fetches schemas by id from a Confluent-compatible registry and
// keeps them compiled. It is safe for concurrent use.
type Registry struct {
	client  *sr.Client
	cache   *schemaCache
	flight  singleflight.Group
	metrics *Metrics
}

// compiled is a schema ready to decode with.
type compiled struct {
	typ   sr.SchemaType
	avro  avro.Schema
	proto protoreflect.FileDescriptor
}

// reference is a schema another one references, by the name it uses.
type reference struct {
	name   string
	schema sr.Schema
}

// Option configures a Registry.
type Option func(*Registry)

// WithMetrics makes the Registry count into m (NewMetrics); without it the
// counts go nowhere.
func WithMetrics(m *Metrics) Option { return func(r *Registry) { r.metrics = m } }

// WithRegisterer registers the Registry's metrics with reg.
func WithRegisterer(reg prometheus.Registerer) Option {
	return func(r *Registry) { r.metrics = NewMetrics(reg) }
}

// New builds a Registry for cfg. Secrets are read from their files now.
func New(cfg config.SchemaRegistry, opts ...Option) (*Registry, error) {
	r := &Registry{cache: newSchemaCache(cfg.CacheSize)}
	for _, o := range opts {
		o(r)
	}
	if r.metrics == nil {
		r.metrics = NewMetrics(nil)
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	if cfg.TLS.Enabled || strings.HasPrefix(cfg.URL, "https:") {
		tc, err := cfg.TLS.ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("schemaregistry: schema_registry.tls %w", err)
		}
		transport.TLSClientConfig = tc
	}
	copts := []sr.ClientOpt{
		sr.URLs(cfg.URL),
		sr.HTTPClient(&http.Client{Timeout: cfg.Timeout, Transport: countingTransport{transport, r.metrics.Requests}}),
		sr.UserAgent("kafka-redis-connector"),
	}
	if cfg.Username != "" {
		pass, err := readSecret(cfg.PasswordFile, "schema_registry.password_file")
		if err != nil {
			return nil, err
		}
		copts = append(copts, sr.BasicAuth(cfg.Username, pass))
	}
	if cfg.TokenFile != "" {
		token, err := readSecret(cfg.TokenFile, "schema_registry.token_file")
		if err != nil {
			return nil, err
		}
		copts = append(copts, sr.BearerToken(token))
	}
	cl, err := sr.NewClient(copts...)
	if err != nil {
		return nil, fmt.Errorf("schemaregistry: %w", err)
	}
	r.client = cl
	return r, nil
}

func readSecret(file, key string) (string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("schemaregistry: %s: %w", key, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// countingTransport counts every request sent to the registry.
type countingTransport struct {
	next     http.RoundTripper
	requests prometheus.Counter
}

func (t countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.requests.Inc()
	return t.next.RoundTrip(req)
}

// schema returns the compiled schema of id: from the cache, or fetched and
// compiled by one caller while the others with the same id wait for it.
// A *RecordError is permanent (and cached); any other error wraps
// ErrUnavailable.
func (r *Registry) schema(ctx context.Context, id int) (*compiled, error) {
	if e, ok := r.cache.get(id); ok {
		r.metrics.CacheHits.Inc()
		return e.result()
	}
	r.metrics.CacheMisses.Inc()
	v, err, _ := r.flight.Do(strconv.Itoa(id), func() (any, error) {
		if e, ok := r.cache.get(id); ok { // filled while this caller queued
			return e, nil
		}
		e, err := r.fetch(ctx, id)
		if err != nil {
			r.metrics.Errors.WithLabelValues(errUnavailable).Inc()
			return nil, err
		}
		r.cache.put(e)
		r.metrics.CachedSchemas.Set(float64(r.cache.len()))
		return e, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*cacheEntry).result()
}

func (e *cacheEntry) result() (*compiled, error) {
	if e.err != nil {
		return nil, e.err
	}
	return e.sch, nil
}

// fetch gets schema id and its references and compiles it. Permanent
// failures come back as an entry to cache; the error is ErrUnavailable's.
func (r *Registry) fetch(ctx context.Context, id int) (*cacheEntry, error) {
	s, err := r.client.SchemaByID(ctx, id)
	if err != nil {
		if notFound(err) {
			r.metrics.Errors.WithLabelValues(errNotFound).Inc()
			return &cacheEntry{id: id, err: recordErr(ReasonSchemaNotFound, id, "the registry has no schema with this id")}, nil
		}
		if permanent(err) {
			r.metrics.Errors.WithLabelValues(errInvalidSchema).Inc()
			return &cacheEntry{id: id, err: recordErr(ReasonDecodeFailed, id, "the registry refused the schema: %v", err)}, nil
		}
		return nil, fmt.Errorf("%w: schema id %d: %w", ErrUnavailable, id, err)
	}
	refs, err := r.references(ctx, s.References, 0, nil)
	if err != nil {
		var re *RecordError
		if errors.As(err, &re) {
			re.ID = id
			r.metrics.Errors.WithLabelValues(errNotFound).Inc()
			return &cacheEntry{id: id, err: re}, nil
		}
		return nil, fmt.Errorf("%w: schema id %d: %w", ErrUnavailable, id, err)
	}
	c := &compiled{typ: s.Type}
	switch c.typ {
	case sr.TypeAvro:
		c.avro, err = compileAvro(s.Schema, refs)
	case sr.TypeProtobuf:
		c.proto, err = compileProto(ctx, id, s.Schema, refs)
	case sr.TypeJSON:
	default:
		err = fmt.Errorf("unknown schema type %q", c.typ)
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w: schema id %d: %w", ErrUnavailable, id, ctx.Err())
		}
		r.metrics.Errors.WithLabelValues(errInvalidSchema).Inc()
		return &cacheEntry{id: id, err: recordErr(ReasonDecodeFailed, id, "compile the %s schema: %v", c.typ, err)}, nil
	}
	return &cacheEntry{id: id, sch: c}, nil
}

// references fetches refs and what they reference in turn, dependencies
// first, each once.
func (r *Registry) references(ctx context.Context, refs []sr.SchemaReference, depth int, seen map[string]bool) ([]reference, error) {
	if len(refs) == 0 {
		return nil, nil
	}
	if depth > maxReferenceDepth {
		return nil, recordErr(ReasonDecodeFailed, 0, "schema references nest deeper than %d", maxReferenceDepth)
	}
	if seen == nil {
		seen = map[string]bool{}
	}
	var out []reference
	for _, ref := range refs {
		if seen[ref.Name] {
			continue
		}
		seen[ref.Name] = true
		s, err := r.client.SchemaByVersion(ctx, ref.Subject, ref.Version)
		if err != nil {
			if notFound(err) {
				return nil, recordErr(ReasonSchemaNotFound, 0, "referenced schema %s (subject %s version %d) not found", ref.Name, ref.Subject, ref.Version)
			}
			return nil, fmt.Errorf("referenced schema %s: %w", ref.Name, err)
		}
		deps, err := r.references(ctx, s.References, depth+1, seen)
		if err != nil {
			return nil, err
		}
		out = append(append(out, deps...), reference{name: ref.Name, schema: s.Schema})
	}
	return out, nil
}

// notFound reports whether the registry answered that the schema (or a
// referenced subject or version) does not exist.
func notFound(err error) bool {
	var re *sr.ResponseError
	return errors.As(err, &re) && re.StatusCode == http.StatusNotFound
}

// permanent reports whether the registry answered with a client error that
// asking again will not change (422: an unparsable schema). Auth failures,
// throttling and timeouts are the registry's state, not the record's.
func permanent(err error) bool {
	var re *sr.ResponseError
	if !errors.As(err, &re) {
		return false
	}
	switch re.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusRequestTimeout, http.StatusTooManyRequests:
		return false
	}
	return re.StatusCode >= 400 && re.StatusCode < 500
}
