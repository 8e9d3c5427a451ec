package election

import (
	"errors"
	"strings"
	"testing"

	"github.com/ipcmesh/ipcmesh"
)

// Only the broker's own user makes and revokes access keys. A peer that
// knows the secret but cannot read the broker's data folder (of another
// host or user, given the secret) could make a key for any name and act
// as it at an HTTP face run from that folder, which resumes the name's
// session with the token the folder keeps: a name whose session the peer
// could not claim. It could also revoke the owner's keys. The peer of the
// broker's folder does both, with the stop key of broker.json.
func TestAccessKeysNeedTheBrokersFolder(t *testing.T) {
	m := newMesh(t)
	owner := m.join("")
	if !owner.IsBroker() {
		t.Fatal("the first peer does not host the broker")
	}
	cfg := m.config()
	cfg.DataDir = t.TempDir()
	outsider, err := Join(ctxT(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer outsider.Close()

	refused := func(what string, err error) {
		t.Helper()
		var e *ipcmesh.Error
		if !errors.As(err, &e) || e.Code != ipcmesh.CodeUnauthorized {
			t.Fatalf("%s by a peer of another data folder: err = %v, want unauthorized", what, err)
		}
		for _, w := range []string{"stop_key", "broker.json", m.dir, "IPC_DATA_DIR"} {
			if !strings.Contains(e.Message, w) {
				t.Errorf("%s refused with %q, which does not mention %q", what, e.Message, w)
			}
		}
	}
	_, err = outsider.CreateKey(ctxT(t), "builder", "")
	refused("key create", err)
	keys, err := owner.Keys(ctxT(t))
	if err != nil || len(keys) != 0 {
		t.Fatalf("keys after a refused create: %+v, %v; want none", keys, err)
	}

	made, err := owner.CreateKey(ctxT(t), "builder", "")
	if err != nil {
		t.Fatalf("key create by the broker's own folder: %v", err)
	}
	_, err = outsider.RevokeKeys(ctxT(t), made.Info.ID, "")
	refused("key revoke by id", err)
	_, err = outsider.RevokeKeys(ctxT(t), "", "builder")
	refused("key revoke by name", err)
	if k, err := owner.CheckKey(ctxT(t), made.Key); err != nil || k.Name != "builder" {
		t.Fatalf("the key after refused revokes: %+v, %v; want it acting as builder", k, err)
	}

	revoked, err := owner.RevokeKeys(ctxT(t), made.Info.ID, "")
	if err != nil || len(revoked) != 1 {
		t.Fatalf("key revoke by the broker's own folder: %+v, %v", revoked, err)
	}
}
