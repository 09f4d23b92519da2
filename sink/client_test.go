package sink

import (
	"io"
	"testing"

	"github.com/redis/go-redis/v9"
)

func TestDirectForServesOnlyStandaloneClients(t *testing.T) {
	tests := []struct {
		name   string
		client redis.Cmdable
		want   bool
	}{
		{"standalone", redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}), true},
		{"unix socket", redis.NewClient(&redis.Options{Network: "unix", Addr: "/tmp/redis.sock"}), true},
		{"sentinel", redis.NewFailoverClient(&redis.FailoverOptions{MasterName: "m",
			SentinelAddrs: []string{"127.0.0.1:1"}}), false},
		{"cluster", redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"127.0.0.1:1"}}), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer tt.client.(io.Closer).Close()
			p := directFor(tt.client)
			if got := p != nil; got != tt.want {
				t.Errorf("direct transport: got %v, want %v", got, tt.want)
			}
			if p != nil {
				p.close()
			}
		})
	}
}
