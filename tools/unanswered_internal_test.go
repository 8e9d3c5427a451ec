package tools

import (
	"testing"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/ipc"
)

// A send refused with unavailable (a full disk, a read-only folder, a
// commit that failed after its writes reached the database file and may
// have stored it all the same) keeps its id for the same send made
// again, as the store's answer asks: with a new id, a message the failed
// commit stored would arrive twice. A send refused for good (inbox_full)
// or stored gives its id up.
func TestUnavailableSendKeepsItsID(t *testing.T) {
	var u unanswered
	k := keyOf("send", ipc.Outgoing{To: "bob", Content: "deploy at noon"})
	id := u.id(k)
	unavailable := ipcmesh.Errorf(ipcmesh.CodeUnavailable, "the commit failed after its writes went to the database file")
	if !u.settle(k, id, unavailable) {
		t.Fatal("a send refused with unavailable was settled")
	}
	if again := u.id(k); again != id {
		t.Fatalf("the same send made again after unavailable has id %s, want the first try's %s", again, id)
	}
	if u.settle(k, id, ipcmesh.Errorf(ipcmesh.CodeInboxFull, "the inbox of bob is full")) {
		t.Fatal("a send refused with inbox_full was kept")
	}
	if again := u.id(k); again == id {
		t.Fatalf("the same send made again after inbox_full reuses the id %s", id)
	}
}
