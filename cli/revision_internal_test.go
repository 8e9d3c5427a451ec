package cli

import (
	"strings"
	"testing"

	"github.com/ipcmesh/ipcmesh/ipc"
)

// status words a broker of another revision than this build's so that the
// user knows which is older, and what to do when it is the broker.
func TestBrokerRevisionWords(t *testing.T) {
	for _, tc := range []struct {
		rev  int
		want []string
	}{
		{0, []string{"revision 0", "older ipcmesh", "ipcmesh stop", "restart the assistants that still run the older ipcmesh"}},
		{ipc.Revision, []string{"as this ipcmesh"}},
		{ipc.Revision + 1, []string{"newer ipcmesh"}},
	} {
		got := brokerRevision(tc.rev)
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("brokerRevision(%d) = %q, want it to say %q", tc.rev, got, w)
			}
		}
	}
}
