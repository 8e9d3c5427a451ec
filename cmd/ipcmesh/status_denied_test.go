package main

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ipcmesh/ipcmesh/internal/readonly"
	"github.com/ipcmesh/ipcmesh/ipc"
)

// A folder of the data folder made read-only (a restore with other
// modes, a chmod by hand) refuses the large bodies written in it while
// short sends go on, so the store is "ok" beside a send that just failed.
// status tells that refusal as it tells a full disk's, saying it was for
// want of permission; before, it said nothing of it.
func TestStatusSaysWhileAFolderIsReadOnly(t *testing.T) {
	t.Parallel()
	m := newMesh(t, "IPC_LARGE_MESSAGE_BYTES=100")
	m.startBroker()
	m.mustRun("register", "bob")
	large := filepath.Join(m.dir, "large-messages")
	writable := readonly.Folder(t, large)

	body := strings.Repeat("the whole review, line after line\n", 20)
	r := m.runIn(body, "send", "--as", "alice", "bob", "-")
	denied := "cannot write in " + large + ": make it and its files writable"
	if r.code != 1 || !strings.Contains(r.stderr, denied) {
		t.Fatalf("a large send into a read-only folder: exit %d, stderr %q; want exit 1 saying %q", r.code, r.stderr, denied)
	}
	m.mustRun("send", "--as", "alice", "bob", "a short line")

	out := m.mustRun("status").stdout
	wantIn(t, "status while a folder is read-only", out, "store:        ok, ")
	// The short send, or the broker's own bookkeeping, may be written
	// after the refusal: either wording is true then.
	if !regexp.MustCompile(`(?m)^writes:       (refused for want of permission since|the last refused for want of permission at) \d\d:\d\d:\d\d \([^)]*\)[^\n]*: ` + regexp.QuoteMeta(denied)).MatchString(out) {
		t.Errorf("status while a folder is read-only printed %q; want a line saying since when and %q", out, denied)
	}
	var s ipc.StatusResult
	m.mustJSON(&s, "status", "--json")
	if s.StoreRefusedFor != ipc.RefusedForPermission || !strings.Contains(s.StoreRefused, denied) || s.StoreRefusedLast.IsZero() {
		t.Errorf("status --json while a folder is read-only: %+v; want the refusal for want of permission with its time", s)
	}

	writable()
	if r := m.runIn(body, "send", "--as", "alice", "bob", "-"); r.code != 0 {
		t.Fatalf("the large send once its folder is writable: %s", r)
	}
	out = m.mustRun("status").stdout
	if !regexp.MustCompile(`(?m)^writes:       the last refused for want of permission at \d\d:\d\d:\d\d \([^)]*\); writes were taken since`).MatchString(out) {
		t.Errorf("status once the folder is writable printed %q; want the refusal told, with writes taken since", out)
	}
}
