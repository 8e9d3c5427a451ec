package ipc_test

import (
	"encoding/json"
	"testing"

	"github.com/ipcmesh/ipcmesh/ipc"
)

// A rename sent again with its request id while the first try is still
// being carried out (a client that gave up waiting for the answer and
// tried again) was read while the connection still acted as the old name,
// and was refused once the first try had moved it: "acts as the new name
// now, not the old". Both tries are answered with the one session.
func TestRenameRetriedDuringTheFirstTry(t *testing.T) {
	m := startMesh(t, nil)
	r := m.rawAuthed(t)
	r.call(ipc.OpRegister, ipc.RegisterRequest{Name: "bob"})
	body, err := json.Marshal(ipc.RenameRequest{RequestID: ipc.NewID(), NewName: "robert"})
	if err != nil {
		t.Fatal(err)
	}
	// Both tries in one write: the broker reads the second before the
	// first is done.
	var buf []byte
	for id := uint64(100); id <= 101; id++ {
		if buf, err = ipc.AppendFrame(buf, &ipc.Frame{ID: id, Op: ipc.OpRename, Body: body}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.nc.Write(buf); err != nil {
		t.Fatal(err)
	}
	// The answers come in the order the tries end.
	answers := map[uint64]*ipc.Frame{}
	for len(answers) < 2 {
		f, err := r.read()
		if err != nil {
			t.Fatalf("waiting for the answers to the two tries: %v", err)
		}
		if f.Event == "" {
			answers[f.ID] = f
		}
	}
	var token string
	for id := uint64(100); id <= 101; id++ {
		f := answers[id]
		if f == nil {
			t.Fatalf("no answer to try %d of the rename", id-99)
		}
		var s ipc.Session
		if f.Error != nil || json.Unmarshal(f.Body, &s) != nil || s.Name != "robert" {
			t.Fatalf("try %d of the rename: %+v %s; want the session of robert", id-99, f.Error, f.Body)
		}
		if token != "" && s.Token != token {
			t.Errorf("the two tries of one rename got two tokens")
		}
		token = s.Token
	}
}
