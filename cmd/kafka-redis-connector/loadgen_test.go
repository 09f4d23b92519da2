package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/twmb/franz-go/pkg/kfake"
)

func TestLoadgenCommand(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	brokers := cluster.ListenAddrs()[0]
	addr := miniredis.RunT(t).Addr()
	for _, tc := range []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout []string
		wantStderr []string
	}{
		{name: "produces and reports", args: []string{"loadgen", "--brokers", brokers, "--topic", "loadgen-cli", "--rate", "2000",
			"--duration", "300ms", "--partitions", "3"}, wantCode: 0,
			wantStdout: []string{"loadgen: sent=", "errors=0"}, wantStderr: []string{`created topic "loadgen-cli" with 3 partitions`}},
		{name: "verify fails when nothing reaches redis", args: []string{"loadgen", "--brokers", brokers, "--topic", "loadgen-cli",
			"--rate", "1000", "--duration", "200ms", "--partitions", "5", "--verify", addr, "--verify-timeout", "200ms"}, wantCode: 1,
			wantStdout: []string{"verify: expected=", "entries=0"}, wantStderr: []string{"exists with 3 partitions", "records lost"}},
		{name: "verify needs a redis", args: []string{"loadgen", "--brokers", brokers, "--topic", "loadgen-cli", "--verify", "127.0.0.1:1"},
			wantCode: 1, wantStderr: []string{"no Redis answers at 127.0.0.1:1"}},
		{name: "bad template", args: []string{"loadgen", "--brokers", brokers, "--topic", "loadgen-cli", "--verify", addr, "--stream", "{nope}"},
			wantCode: 2, wantStderr: []string{"unknown placeholder"}},
		{name: "bad rate", args: []string{"loadgen", "--rate", "-1"}, wantCode: 2, wantStderr: []string{"--rate must not be negative"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tc.args, &stdout, &stderr)
			if code != tc.wantCode {
				t.Fatalf("exit code: got %d, want %d (stderr: %s)", code, tc.wantCode, stderr.String())
			}
			for _, w := range tc.wantStdout {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("stdout: got %q, want it to contain %q", stdout.String(), w)
				}
			}
			for _, w := range tc.wantStderr {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr: got %q, want it to contain %q", stderr.String(), w)
				}
			}
		})
	}
}
