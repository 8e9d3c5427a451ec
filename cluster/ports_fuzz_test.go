package cluster

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLastPorts reads arbitrary ports.json files: what lastPorts takes
// from one is nil or a client and a route port for each node, each a port
// a node can bind and the others route to, but for the route port of a
// node on its own, which has none (0). A route port 0 in a cluster would
// have its node pick one while the others route to port 0: the cluster
// would never form.
func FuzzLastPorts(f *testing.F) {
	// Seeds: testdata/fuzz/FuzzLastPorts.
	f.Fuzz(func(t *testing.T, data []byte, n uint8) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, portsFile), data, 0o600); err != nil {
			t.Fatal(err)
		}
		nodes := int(n%5) + 1
		ports := lastPorts(dir, nodes)
		if ports == nil {
			return
		}
		if len(ports) != 2*nodes {
			t.Fatalf("%d ports for %d nodes from %q", len(ports), nodes, data)
		}
		for i, p := range ports {
			if p == 0 && i == 1 && nodes == 1 {
				continue
			}
			if p < 1 || p > 65535 {
				t.Fatalf("port %d from %q", p, data)
			}
		}
	})
}
