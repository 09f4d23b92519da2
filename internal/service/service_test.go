package service

import (
	"errors"
	"log/slog"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
)

func TestBuild(t *testing.T) {
	mr := miniredis.RunT(t)
	for _, tc := range []struct {
		name       string
		mutate     func(*config.Config)
		wantConfig bool // a ConfigError
		wantErr    bool
	}{
		{name: "defaults", mutate: func(*config.Config) {}},
		{name: "a stream mapping the writer refuses", mutate: func(c *config.Config) { c.Stream.Key = "{nope" },
			wantErr: true, wantConfig: true},
		{name: "an unknown sasl mechanism", mutate: func(c *config.Config) { c.Kafka.SASL.Mechanism = "NOPE" },
			wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.Redis.Addrs = []string{mr.Addr()}
			cfg.HTTP.Listen = ""
			tc.mutate(&cfg)
			reg := prometheus.NewRegistry()
			svc, err := Build(cfg, slog.New(slog.DiscardHandler), reg)
			var ce *ConfigError
			if gotConfig := errors.As(err, &ce); (err != nil) != tc.wantErr || gotConfig != tc.wantConfig {
				t.Fatalf("got %v (config error: %v), want error %v, config error %v", err, gotConfig, tc.wantErr, tc.wantConfig)
			}
			if err != nil {
				return
			}
			defer svc.Close()
			if svc.Connector == nil {
				t.Fatalf("got no connector, want one")
			}
			mfs, err := reg.Gather()
			if err != nil {
				t.Fatal(err)
			}
			names := make(map[string]bool)
			for _, mf := range mfs {
				names[mf.GetName()] = true
			}
			for _, want := range []string{"krc_records_written_total", "go_goroutines", "process_cpu_seconds_total"} {
				if !names[want] {
					t.Errorf("metric %s: got none, want it on the registry", want)
				}
			}
		})
	}
}
