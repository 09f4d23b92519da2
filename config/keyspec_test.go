package config_test

import (
	"strings"
	"testing"

	"github.com/kafka-redis-connector/kafka-redis-connector/config"
)

func TestParseKeySpec(t *testing.T) {
	tests := []struct {
		spec     string
		wantID   string
		wantFile string
		wantErr  string // substring; empty: no error
	}{
		{spec: "k1=/keys/k1", wantID: "k1", wantFile: "/keys/k1"},
		{spec: "key.2024-01_a=rel/path=with=equals", wantID: "key.2024-01_a", wantFile: "rel/path=with=equals"},
		{spec: "k1", wantErr: "is not ID=FILE"},
		{spec: "=/keys/k1", wantErr: "must be 1 to 64 letters"},
		{spec: "bad id=/keys/k1", wantErr: "must be 1 to 64 letters"},
		{spec: strings.Repeat("k", 65) + "=/f", wantErr: "must be 1 to 64 letters"},
		{spec: "k=", wantErr: "has no file"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			id, file, err := config.ParseKeySpec(tt.spec)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %q, %q, %v, want an error containing %q", id, file, err, tt.wantErr)
				}
				return
			}
			if err != nil || id != tt.wantID || file != tt.wantFile {
				t.Errorf("got %q, %q, %v, want %q, %q, nil", id, file, err, tt.wantID, tt.wantFile)
			}
		})
	}
}
