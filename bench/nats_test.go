package bench

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/ipcmesh/ipcmesh/internal/testbin"
)

// TestBenchNATS runs "ipcmesh bench --quick --store bbolt,nats --only a,i"
// as users would: the bench starts its own three-node cluster, measures
// (a) on both stores and the cross-host figure on the cluster, and reports
// them side by side with nothing lost.
func TestBenchNATS(t *testing.T) {
	r := benchJSON(t, "--quick", "--store", "bbolt,nats", "--only", "a,i")
	checkReport(t, &r, []string{"a", "nats.a", "nats.i.p50", "nats.i.p99", "x.fsync", "x.rtt"})
	for id, target := range map[string]string{"a": ">= 1,000", "nats.a": ">= 1,000", "nats.i.p50": "<= 3", "nats.i.p99": ""} {
		if f, ok := r.Figure(id); ok && f.Target.String() != target {
			t.Errorf("figure %s has target %q, want %q", id, f.Target, target)
		}
	}
	if f, _ := r.Figure("nats.a"); !strings.HasPrefix(f.Name, "[nats] (a)") {
		t.Errorf("figure nats.a is named %q, want it marked [nats]", f.Name)
	}
	if !strings.Contains(strings.Join(r.Notes, "\n"), "JetStream cluster of 3") {
		t.Errorf("the notes do not say where the NATS figures ran: %q", r.Notes)
	}
}

func TestBenchStoreUsage(t *testing.T) {
	for _, args := range [][]string{
		{"bench", "--store", "sqlite"},
		{"bench", "--store", "nats,nats"},
		{"bench", "--store", ""},
		{"bench", "--only", "i"},
	} {
		cmd := exec.Command(ipcmeshBin, args...)
		cmd.Env = testbin.CleanEnviron()
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 {
			t.Errorf("ipcmesh %s: %v, want exit status 2\n%s", strings.Join(args, " "), err, out)
		}
		if !strings.Contains(string(out), "--store") {
			t.Errorf("ipcmesh %s: the error does not name --store:\n%s", strings.Join(args, " "), out)
		}
	}
}
