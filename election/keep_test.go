package election

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/ipcmesh/ipcmesh/internal/readonly"
)

// TestTokenInAReadOnlyFolderSaysMakeItWritable: a register whose token
// cannot be kept because the data folder's sessions folder is read-only
// says to make it writable. It said "free some space there (or make it
// writable)", sending the user to look for room first.
func TestTokenInAReadOnlyFolderSaysMakeItWritable(t *testing.T) {
	m := newMesh(t)
	m.join("alice") // hosts the broker, and makes the sessions folder
	readonly.Folder(t, filepath.Join(m.dir, "sessions"))
	p := m.join("")
	_, err := p.Register(ctxT(t), "bob")
	if err == nil {
		t.Fatal("bob registered with a read-only sessions folder: the test tests nothing")
	}
	if msg := err.Error(); !strings.Contains(msg, "keep the session token for bob") || !strings.Contains(msg, ": make it writable and try again") || strings.Contains(msg, "space") {
		t.Errorf("register with a read-only sessions folder: %q; want it to say to make the folder writable, and nothing of room", msg)
	}
}
