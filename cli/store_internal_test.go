package cli

import (
	"strings"
	"testing"

	"github.com/ipcmesh/ipcmesh/election"
)

// The broker's banner names the cluster it serves from, but not the
// password an IPC_STORE URL carries: the banner goes to terminals and to
// the logs of whatever runs the broker.
func TestBannerHidesTheClusterPassword(t *testing.T) {
	var cfg election.Config
	if err := election.SetStore(&cfg, "nats://mesh:s3cret-pw@10.0.0.1:4222,nats://10.0.0.2:4222"); err != nil {
		t.Fatal(err)
	}
	note := clusterNote(cfg)
	if strings.Contains(note, "s3cret-pw") || !strings.Contains(note, "nats://mesh:xxxxx@10.0.0.1:4222,nats://10.0.0.2:4222") {
		t.Errorf("banner note = %q, want the servers with the password hidden", note)
	}
}
