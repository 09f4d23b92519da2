//go:build unix

package bench

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeConnector writes a shell script standing in for the connector binary:
// it records the environment variable KRC_HTTP_LISTEN in a file, runs
// script (lines that write its log to stderr, or exit) and then waits for
// SIGTERM, on which it exits 0.
func fakeConnector(t *testing.T, script string) (binary, listenFile string) {
	t.Helper()
	dir := t.TempDir()
	binary, listenFile = filepath.Join(dir, "connector"), filepath.Join(dir, "listen")
	// The trap first, so a SIGTERM at any time is a clean exit; short
	// sleeps that do not hold its stderr, so a kill ends the script and
	// its log at once.
	body := "#!/bin/sh\ntrap 'exit 0' TERM\nprintf '%s' \"$KRC_HTTP_LISTEN\" > " + listenFile + "\n" + script +
		"\nwhile :; do sleep 0.1 >/dev/null 2>&1; done\n"
	if err := os.WriteFile(binary, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return binary, listenFile
}

func TestChildReportsItsAddress(t *testing.T) {
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("no /bin/sh")
	}
	// The child's endpoints, on a listener this test keeps open.
	ready := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			http.NotFound(w, r)
		}
	}))
	defer ready.Close()
	addr := strings.TrimPrefix(ready.URL, "http://")
	listening := `{"time":"2026-12-02T13:00:00Z","level":"INFO","msg":"http endpoints listening","addr":"` + addr + `","paths":"/metrics"}`
	for _, tc := range []struct {
		name    string
		script  string
		wantErr []string // "" : ready at addr
	}{
		{name: "names it in its log", script: "echo '{\"level\":\"INFO\",\"msg\":\"starting kafka-redis-connector\"}' >&2\n" +
			"echo '" + listening + "' >&2"},
		{name: "never names it", script: "echo 'preflight: kafka not reachable yet' >&2",
			wantErr: []string{`no "http endpoints listening" log line`, "preflight: kafka not reachable yet"}},
		{name: "exits first", script: "echo 'preflight: redis rejected AUTH' >&2\nexit 3",
			wantErr: []string{"exited (exit status 3) before it named its HTTP address", "preflight: redis rejected AUTH"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			binary, listenFile := fakeConnector(t, tc.script)
			e := &env{cfg: Config{ConnectorBinary: binary, RedisAddr: "127.0.0.1:1"}, brokers: []string{"127.0.0.1:2"}, id: "bench-test"}
			c, err := e.startChild("tuned", nil, []string{"t"}, nil)
			if err != nil {
				t.Fatalf("start: %v", err)
			}
			// Long enough for a loaded machine when the child reports; the
			// time the failing cases take.
			timeout := 10 * time.Second
			if tc.wantErr != nil {
				timeout = time.Second
			}
			err = c.waitReady(context.Background(), timeout)
			stopErr := c.stop(10 * time.Second)
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("ready: %v", err)
				}
				if c.http != addr {
					t.Errorf("http: got %s, want %s, the address the child named", c.http, addr)
				}
				if stopErr != nil {
					t.Errorf("stop: %v", stopErr)
				}
			} else {
				if err == nil {
					t.Fatalf("ready: got no error, want one containing %q", tc.wantErr)
				}
				for _, want := range tc.wantErr {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("ready: got %v, want it to contain %q", err, want)
					}
				}
			}
			if got, err := os.ReadFile(listenFile); err != nil || string(got) != "127.0.0.1:0" {
				t.Errorf("KRC_HTTP_LISTEN: got %q (%v), want 127.0.0.1:0: the kernel picks the port", got, err)
			}
		})
	}
}

func TestChildGuarantee(t *testing.T) {
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("no /bin/sh")
	}
	binary, _ := fakeConnector(t, "")
	e := &env{cfg: Config{ConnectorBinary: binary, RedisAddr: "127.0.0.1:1"}, brokers: []string{"127.0.0.1:2"}, id: "bench-test"}
	for _, tc := range []struct {
		name  string
		extra []string
		want  bool
	}{
		{"default", nil, false},
		{"exactly_once", []string{"KRC_DELIVERY_GUARANTEE=exactly_once"}, true},
		{"at_least_once", []string{"KRC_DELIVERY_GUARANTEE=at_least_once"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := e.startChild("tuned", nil, []string{"t"}, nil, tc.extra...)
			if err != nil {
				t.Fatalf("start: %v", err)
			}
			_ = c.cmd.Process.Kill()
			<-c.exited
			if c.exactlyOnce != tc.want {
				t.Errorf("exactlyOnce: got %v, want %v", c.exactlyOnce, tc.want)
			}
		})
	}
}

func TestAddrReport(t *testing.T) {
	line := `{"level":"INFO","msg":"http endpoints listening","addr":"127.0.0.1:43210"}` + "\n"
	for _, tc := range []struct {
		name   string
		writes []string
		want   string // "": none
	}{
		{"one write", []string{line}, "127.0.0.1:43210"},
		{"split across writes", []string{`{"level":"INFO","msg":"http endp`, `oints listening","addr":"127.0.0.1:4`, "3210\"}\n"}, "127.0.0.1:43210"},
		{"after other lines", []string{`{"msg":"starting kafka-redis-connector","addr":"127.0.0.1:1"}` + "\nnot json\n" + line}, "127.0.0.1:43210"},
		{"after an overlong line", []string{strings.Repeat("x", maxLogLine+1), "\n" + line}, "127.0.0.1:43210"},
		{"no newline yet", []string{strings.TrimSuffix(line, "\n")}, ""},
		{"another message", []string{`{"msg":"http endpoints stopped","addr":"127.0.0.1:43210"}` + "\n"}, ""},
		{"not an address", []string{`{"msg":"http endpoints listening","addr":"43210"}` + "\n"}, ""},
		{"only the first report", []string{line, strings.ReplaceAll(line, "43210", "5")}, "127.0.0.1:43210"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newAddrReport()
			for _, w := range tc.writes {
				if n, err := a.Write([]byte(w)); n != len(w) || err != nil {
					t.Fatalf("write: got %d, %v, want %d, nil", n, err, len(w))
				}
			}
			var got string
			select {
			case got = <-a.found:
			default:
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestChildWaitsSeeItsExit: every wait on a child that has ended fails
// with why it ended, the first one and every one after it, at once rather
// than at its timeout (a minute here, which no case waits for).
func TestChildWaitsSeeItsExit(t *testing.T) {
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("no /bin/sh")
	}
	for _, tc := range []struct {
		name   string
		script string
		want   []string
	}{
		{name: "exit status 3", script: "echo 'preflight: redis rejected AUTH' >&2\nexit 3",
			want: []string{"connector process: exit status 3", "preflight: redis rejected AUTH"}},
		{name: "exit status 0", script: "exit 0", want: []string{"connector process: exited"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			binary, _ := fakeConnector(t, tc.script)
			e := &env{cfg: Config{ConnectorBinary: binary, RedisAddr: "127.0.0.1:1"}, brokers: []string{"127.0.0.1:2"}, id: "bench-test"}
			c, err := e.startChild("tuned", nil, []string{"t"}, nil)
			if err != nil {
				t.Fatalf("start: %v", err)
			}
			defer func() { _ = c.stop(10 * time.Second) }()
			for _, what := range []string{"join the group", "drain the backlog", "drain again"} {
				err := c.wait(context.Background(), what, time.Millisecond, time.Minute, func() bool { return false })
				if err == nil {
					t.Fatalf("%s: got no error, want the child's exit", what)
				}
				for _, want := range append([]string{"bench: " + what + ": "}, tc.want...) {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("%s: got %v, want it to contain %q", what, err, want)
					}
				}
			}
		})
	}
}
