package ipc_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/ipc"
)

func TestAccessKeyLifecycle(t *testing.T) { forEachStore(t, testAccessKeyLifecycle) }

func testAccessKeyLifecycle(t *testing.T, kind storeKind) {
	m := startMeshOn(t, kind, nil)
	admin := m.dial(t) // keys need the secret, not a name
	var made ipc.KeyCreateResult
	admin.must(t, ipc.OpKeyCreate, ipc.KeyCreateRequest{Name: "human", Label: "web page"}, &made)
	if made.Info.Name != "human" || made.Info.Label != "web page" || made.Info.ID == "" || made.Info.Created.IsZero() {
		t.Fatalf("created %+v", made.Info)
	}
	if !strings.HasPrefix(made.Key, "ipk1_"+made.Info.ID+"_") {
		t.Fatalf("key %q does not carry its id %s", made.Key, made.Info.ID)
	}

	var who ipcmesh.AccessKey
	admin.must(t, ipc.OpKeyCheck, ipc.KeyCheckRequest{Key: made.Key}, &who)
	if who.Name != "human" || who.ID != made.Info.ID {
		t.Fatalf("check = %+v, want human's key %s", who, made.Info.ID)
	}

	// A key with the right shape and id but another tag, a key from another
	// mesh, and garbage are all just "unauthorized".
	tampered := made.Key[:len(made.Key)-1] + string("0123456789abcdef"[(strings.IndexByte("0123456789abcdef", made.Key[len(made.Key)-1])+1)%16])
	for _, k := range []string{tampered, "ipk1_0123456789abcdef_0123456789abcdef0123456789abcdef", "not a key", ""} {
		err := admin.call(ipc.OpKeyCheck, ipc.KeyCheckRequest{Key: k}, &who)
		wantCode(t, err, ipcmesh.CodeUnauthorized)
	}

	// Revoking tells human's connections, and the key stops working.
	human := m.join(t, "human")
	var second ipc.KeyCreateResult
	admin.must(t, ipc.OpKeyCreate, ipc.KeyCreateRequest{Name: "human"}, &second)
	var rev ipc.KeyRevokeResult
	admin.must(t, ipc.OpKeyRevoke, ipc.KeyRevokeRequest{ID: made.Info.ID}, &rev)
	if len(rev.Revoked) != 1 || rev.Revoked[0].ID != made.Info.ID || rev.Revoked[0].Revoked.IsZero() {
		t.Fatalf("revoked %+v", rev.Revoked)
	}
	human.Events.await(t, ipc.EventKeyRevoked, func(b json.RawMessage) bool {
		var k ipcmesh.AccessKey
		return json.Unmarshal(b, &k) == nil && k.ID == made.Info.ID
	})
	err := admin.call(ipc.OpKeyCheck, ipc.KeyCheckRequest{Key: made.Key}, &who)
	wantMention(t, wantCode(t, err, ipcmesh.CodeUnauthorized).Message, "revoked", made.Info.ID, "human")
	admin.must(t, ipc.OpKeyCheck, ipc.KeyCheckRequest{Key: second.Key}, &who) // the other key lives on

	// Revoking by name takes the rest; revoking again finds nothing.
	admin.must(t, ipc.OpKeyRevoke, ipc.KeyRevokeRequest{Name: "human"}, &rev)
	if len(rev.Revoked) != 1 || rev.Revoked[0].ID != second.Info.ID {
		t.Fatalf("revoked by name %+v, want only %s", rev.Revoked, second.Info.ID)
	}
	wantCode(t, admin.call(ipc.OpKeyRevoke, ipc.KeyRevokeRequest{Name: "human"}, &rev), ipcmesh.CodeNotFound)
	wantCode(t, admin.call(ipc.OpKeyRevoke, ipc.KeyRevokeRequest{}, &rev), ipcmesh.CodeBadRequest)

	var list ipc.KeyListResult
	admin.must(t, ipc.OpKeyList, nil, &list)
	if len(list.Keys) != 2 || list.Keys[0].ID != made.Info.ID || list.Keys[1].Revoked.IsZero() {
		t.Fatalf("list = %+v", list.Keys)
	}
	raw, _ := json.Marshal(list)
	if strings.Contains(string(raw), made.Key) || strings.Contains(string(raw), second.Key) {
		t.Error("the key list holds a key")
	}
}

func TestAccessKeyCreateRefusesBadInput(t *testing.T) {
	forEachStore(t, testAccessKeyCreateRefusesBadInput)
}

func testAccessKeyCreateRefusesBadInput(t *testing.T, kind storeKind) {
	m := startMeshOn(t, kind, nil)
	admin := m.dial(t)
	var made ipc.KeyCreateResult
	wantCode(t, admin.call(ipc.OpKeyCreate, ipc.KeyCreateRequest{Name: "Bad Name!"}, &made), ipcmesh.CodeInvalidName)
	wantCode(t, admin.call(ipc.OpKeyCreate, ipc.KeyCreateRequest{Name: "ok", Label: "two\nlines"}, &made), ipcmesh.CodeBadRequest)
	// An escape sequence would be obeyed by the terminal key list prints on.
	e := wantCode(t, admin.call(ipc.OpKeyCreate, ipc.KeyCreateRequest{Name: "ok", Label: "l\x1b[2Jred"}, &made), ipcmesh.CodeBadRequest)
	wantMention(t, e.Message, "U+001B", "byte 2")
	wantCode(t, admin.call(ipc.OpKeyCreate, ipc.KeyCreateRequest{Name: "ok", Label: strings.Repeat("x", 201)}, &made), ipcmesh.CodeBadRequest)
}

// A key_create sent again with the id its first try gave (after a lost
// connection, to the next broker) is answered with the key that try made,
// not a second key nobody holds; an id another key has is a conflict.
func TestAccessKeyCreateRetriedMakesOneKey(t *testing.T) { forEachStore(t, testAccessKeyCreateRetried) }

func testAccessKeyCreateRetried(t *testing.T, kind storeKind) {
	m := startMeshOn(t, kind, nil)
	admin := m.dial(t)
	req := ipc.KeyCreateRequest{Name: "human", Label: "web page", ID: "00112233445566ff"}
	var first, again ipc.KeyCreateResult
	admin.must(t, ipc.OpKeyCreate, req, &first)
	admin.must(t, ipc.OpKeyCreate, req, &again)
	if first.Info.ID != req.ID || again.Key != first.Key || again.Info != first.Info {
		t.Fatalf("the retry made %+v, want the first try's key %+v", again.Info, first.Info)
	}
	var list ipc.KeyListResult
	admin.must(t, ipc.OpKeyList, nil, &list)
	if len(list.Keys) != 1 {
		t.Fatalf("%d keys after a retried create, want 1: %+v", len(list.Keys), list.Keys)
	}
	other := req
	other.Name = "mallory"
	wantMention(t, wantCode(t, admin.call(ipc.OpKeyCreate, other, &again), ipcmesh.CodeConflict).Message, req.ID, "fresh id")
	var rev ipc.KeyRevokeResult
	admin.must(t, ipc.OpKeyRevoke, ipc.KeyRevokeRequest{ID: req.ID}, &rev)
	wantCode(t, admin.call(ipc.OpKeyCreate, req, &again), ipcmesh.CodeConflict)
	bad := ipc.KeyCreateRequest{Name: "human", ID: "not-an-id"}
	wantMention(t, wantCode(t, admin.call(ipc.OpKeyCreate, bad, &again), ipcmesh.CodeBadRequest).Message, "16 lower-case hex digits")
}
