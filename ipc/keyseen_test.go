package ipc_test

import (
	"encoding/json"
	"testing"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/ipc"
)

// keeper registers name on a raw connection that keeps its keys, as the
// HTTP face's peers do, and returns it.
func keeper(t *testing.T, m *mesh, name string) *rawConn {
	t.Helper()
	r := m.rawAuthed(t)
	if f := r.call(ipc.OpRegister, ipc.RegisterRequest{Name: name, Subscribe: true, KeepsKeys: true}); f.Error != nil {
		t.Fatalf("register %s: %v", name, f.Error)
	}
	return r
}

// keptKey starts a mesh with a key of human's and a connection that keeps
// human's keys, and returns them with an unnamed connection to manage keys.
func keptKey(t *testing.T) (*mesh, *peer, ipc.KeyCreateResult, *rawConn) {
	t.Helper()
	m := startMesh(t, nil)
	admin := m.dial(t)
	var made ipc.KeyCreateResult
	admin.must(t, ipc.OpKeyCreate, ipc.KeyCreateRequest{Name: "human"}, &made)
	return m, admin, made, keeper(t, m, "human")
}

// awaitRevoked reads r's frames until the key_revoked event of key id.
func awaitRevoked(t *testing.T, r *rawConn, id string) {
	t.Helper()
	for {
		f, err := r.read()
		if err != nil {
			t.Fatalf("waiting for key_revoked of %s: %v", id, err)
		}
		var k ipcmesh.AccessKey
		if f.Event == ipc.EventKeyRevoked && json.Unmarshal(f.Body, &k) == nil && k.ID == id {
			return
		}
	}
}

// A revoke is answered only once every connection that keeps the name's
// keys has said it forgot the key: an event written to the face is not
// yet an event the face has read.
func TestRevokeWaitsForKeepersToForget(t *testing.T) {
	_, admin, made, face := keptKey(t)

	forgot := make(chan struct{})
	answered := make(chan error, 1)
	go func() {
		var rev ipc.KeyRevokeResult
		err := admin.call(ipc.OpKeyRevoke, ipc.KeyRevokeRequest{ID: made.Info.ID}, &rev)
		select {
		case <-forgot:
		default:
			t.Error("the revoke was answered before the face said it forgot the key")
		}
		answered <- err
	}()
	awaitRevoked(t, face, made.Info.ID)
	close(forgot)
	if f := face.call(ipc.OpKeySeen, ipc.KeySeenRequest{ID: made.Info.ID}); f.Error != nil {
		t.Fatalf("key_seen: %v", f.Error)
	}
	if err := <-answered; err != nil {
		t.Fatalf("revoke: %v", err)
	}
}

// A keeper that never says it forgot the key is cut off, which makes it
// forget every key it kept, and the revoke is answered all the same.
func TestRevokeCutsOffSilentKeeper(t *testing.T) {
	m, admin, made, face := keptKey(t)
	var rev ipc.KeyRevokeResult
	admin.must(t, ipc.OpKeyRevoke, ipc.KeyRevokeRequest{ID: made.Info.ID}, &rev)
	if len(rev.Revoked) != 1 {
		t.Fatalf("revoked %+v", rev.Revoked)
	}
	face.wantClosed()
	// A connection that keeps no keys is not waited for, nor cut off.
	plain := m.join(t, "bob")
	admin.must(t, ipc.OpKeyCreate, ipc.KeyCreateRequest{Name: "bob"}, &made)
	admin.must(t, ipc.OpKeyRevoke, ipc.KeyRevokeRequest{ID: made.Info.ID}, &rev)
	plain.Events.await(t, ipc.EventKeyRevoked, func(json.RawMessage) bool { return true })
	plain.must(t, ipc.OpStatus, nil, nil)
}
