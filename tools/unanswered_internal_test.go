package tools

import (
	"fmt"
	"testing"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/election"
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

// A send whose broker was lost before it answered is kept whatever error
// ended the call after: a refusal by the next broker that answered the
// hello (another version of ipcmesh, say) is not the answer to the send.
func TestLostSendKeepsItsIDWhateverEndedTheCall(t *testing.T) {
	var u unanswered
	k := keyOf("send", ipc.Outgoing{To: "bob", Content: "deploy at noon"})
	id := u.id(k)
	refusedHello := ipcmesh.Errorf(ipcmesh.CodeUnsupported, "it refused the hello as a protocol version it does not speak")
	if !u.settle(k, id, fmt.Errorf("%w: %w", election.ErrAnswerLost, refusedHello)) {
		t.Fatal("a send whose broker was lost before it answered was settled by the next broker's refusal of the hello")
	}
	if again := u.id(k); again != id {
		t.Fatalf("the same send made again has id %s, want the first try's %s", again, id)
	}
}
