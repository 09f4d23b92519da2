//go:build integration

package testcontainers

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestSchemaRegistryScriptRefusesTakenPorts: scripts/schema-registry.sh up
// fails, naming the port, when something it did not start listens on the
// registry's port, instead of taking that for its registry (a registry of
// another run dir on the default port once answered the start-up check,
// and TestSchemaRegistryOutage then found it still answering after stop).
func TestSchemaRegistryScriptRefusesTakenPorts(t *testing.T) {
	var ports []string
	for range 2 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		ports = append(ports, strconv.Itoa(l.Addr().(*net.TCPAddr).Port))
	}
	port := ports[0]
	for _, tc := range []struct{ name, srPort, mgmtPort string }{
		{"both ports taken", ports[0], ports[1]},
		{"one port for both, taken", ports[0], ports[0]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command("bash", filepath.Join(repoRoot, "scripts", "schema-registry.sh"), "up")
			cmd.Env = append(os.Environ(), "KRCDEV_RUN_DIR="+t.TempDir(), "KRCDEV_SR=1",
				"KRCDEV_SR_PORT="+tc.srPort, "KRCDEV_SR_MANAGEMENT_PORT="+tc.mgmtPort)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("up with port %s taken: succeeded, want it refused; output:\n%s", port, out)
			}
			if !strings.Contains(string(out), "127.0.0.1:"+port) || !strings.Contains(string(out), "in use by something not started") {
				t.Errorf("up with port %s taken: got %q, want an error naming 127.0.0.1:%s in use", port, out, port)
			}
		})
	}
}
