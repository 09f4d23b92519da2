//go:build integration

package testcontainers

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// redisProxy is an in-process toxiproxy between the connector and Redis:
// network faults (refused connections, slow replies, cut connections) hit
// only the connector's traffic, never the shared redis-server itself.
type redisProxy struct {
	addr  string // where the connector connects: 127.0.0.1:<port>
	proxy *toxiproxy.Proxy
}

// startRedisProxy listens on a free 127.0.0.1 port and forwards to upstream.
func startRedisProxy(t *testing.T, upstream string) *redisProxy {
	t.Helper()
	srv := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	px := toxiproxy.NewProxy(srv, "redis", freeAddr(t), upstream)
	if err := px.Start(); err != nil {
		t.Fatalf("toxiproxy: start proxy to %s: %v", upstream, err)
	}
	t.Cleanup(px.Stop)
	// A restart after down() listens on the same port again; freeAddr's
	// ports are outside the range the kernel hands out meanwhile.
	return &redisProxy{addr: px.Listen, proxy: px}
}

// down closes the listener and every proxied connection: the connector's
// dials are refused and its open connections end, as when Redis is gone.
func (r *redisProxy) down(t *testing.T) {
	t.Helper()
	r.proxy.Stop()
	if dialable(r.addr) == nil {
		t.Fatalf("toxiproxy %s still accepts connections after Stop", r.addr)
	}
}

// up listens again on the same address.
func (r *redisProxy) up(t *testing.T) {
	t.Helper()
	if err := r.proxy.Start(); err != nil {
		t.Fatalf("toxiproxy: restart on %s: %v", r.addr, err)
	}
}

// toxic is one toxiproxy toxic: its type ("latency", "limit_data", ...),
// the direction it acts on ("downstream": Redis to the connector,
// "upstream": the connector to Redis) and its attributes.
type toxic struct {
	Name       string         `json:"name"`
	Type       string         `json:"type"`
	Stream     string         `json:"stream"`
	Toxicity   float32        `json:"toxicity"`
	Attributes map[string]any `json:"attributes"`
}

// add installs tx on every current and future connection.
func (r *redisProxy) add(t *testing.T, tx toxic) {
	t.Helper()
	if tx.Toxicity == 0 {
		tx.Toxicity = 1
	}
	body, err := json.Marshal(tx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.proxy.Toxics.AddToxicJson(strings.NewReader(string(body))); err != nil {
		t.Fatalf("toxiproxy: add toxic %s: %v", body, err)
	}
	t.Logf("toxiproxy: %s %s toxic %s %v", tx.Stream, tx.Type, tx.Name, tx.Attributes)
}

// remove uninstalls the toxic named name.
func (r *redisProxy) remove(t *testing.T, name string) {
	t.Helper()
	if err := r.proxy.Toxics.RemoveToxic(context.Background(), name); err != nil {
		t.Fatalf("toxiproxy: remove toxic %s: %v", name, err)
	}
	t.Logf("toxiproxy: toxic %s removed", name)
}
