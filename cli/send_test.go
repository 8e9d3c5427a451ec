package cli

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ipcmesh/ipcmesh/internal/readonly"
)

// TestSendUnavailableNamesItsID: a send the store refused for now
// (unavailable: a full disk, a folder made read-only, a commit that may
// have stored it all the same) is told to be sent again with the same
// id, and the command names the id it made: run with it, the message is
// stored once. Before, the advice named no id, and the command run again
// made a new one.
func TestSendUnavailableNamesItsID(t *testing.T) {
	m := newHookMesh(t)
	const small = "IPC_LARGE_MESSAGE_BYTES=16"
	bob := m.peerWith("bob", small)
	large := filepath.Join(m.dir, "large-messages")
	writable := readonly.Folder(t, large)
	body := strings.Repeat("a large body ", 4)
	e, _, errb := m.env("", small)
	if code := Run(e, "send", []string{"--as", "alice", "bob", body}); code != 1 {
		t.Fatalf("send into a read-only folder: exit %d, stderr %q; want 1", code, errb)
	}
	match := regexp.MustCompile(`run the command with --id (\S+), which stores it once`).FindStringSubmatch(errb.String())
	if match == nil {
		t.Fatalf("send refused as unavailable: stderr %q; want it to name the --id to send it again with", errb)
	}
	writable()
	for range 2 {
		e, _, errb := m.env("", small)
		if code := Run(e, "send", []string{"--as", "alice", "--id", match[1], "bob", body}); code != 0 {
			t.Fatalf("send --id %s once the folder is writable: exit %d, stderr %q", match[1], code, errb)
		}
	}
	if got := unreadContents(t, bob); len(got) != 1 {
		t.Errorf("bob got %d messages, want the one sent again with its id, once", len(got))
	}
}
