package store

import (
	"context"
	"strings"
	"testing"

	"github.com/ipcmesh/ipcmesh"
)

func TestAccessKeysPersistAndRevoke(t *testing.T) {
	ctx := context.Background()
	s, clock := openTest(t, nil)
	a := ipcmesh.AccessKey{ID: "00000000000000aa", Name: "human", Label: "web", Created: clock.Now()}
	b := ipcmesh.AccessKey{ID: "00000000000000bb", Name: "human", Created: clock.Now().Add(1)}
	c := ipcmesh.AccessKey{ID: "00000000000000cc", Name: "builder", Created: clock.Now().Add(2)}
	for _, k := range []ipcmesh.AccessKey{a, b, c} {
		if err := s.PutAccessKey(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	wantCode(t, s.PutAccessKey(ctx, a), ipcmesh.CodeConflict)

	// The records outlive the process.
	opts := s.Options()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	got, ok, err := s.AccessKeyByID(a.ID)
	if err != nil || !ok || got.Name != "human" || got.Label != "web" || !got.Revoked.IsZero() {
		t.Fatalf("after reopening: %+v, %v, %v", got, ok, err)
	}

	clock.Advance(5)
	// An id with another key's name revokes nothing.
	_, err = s.RevokeAccessKeys(ctx, a.ID, "builder")
	wantCode(t, err, ipcmesh.CodeNotFound)
	rev, err := s.RevokeAccessKeys(ctx, "", "human")
	if err != nil || len(rev) != 2 {
		t.Fatalf("revoke human's keys: %+v, %v", rev, err)
	}
	// Revoked twice, they say so, where "no live key" alone reads as a
	// name or an id mistyped.
	_, err = s.RevokeAccessKeys(ctx, a.ID, "")
	wantCode(t, err, ipcmesh.CodeNotFound)
	if err == nil || !strings.Contains(err.Error(), "(it was revoked before)") {
		t.Errorf("revoke a key revoked before: %v, want it to say so", err)
	}
	_, err = s.RevokeAccessKeys(ctx, "", "human")
	wantCode(t, err, ipcmesh.CodeNotFound)
	if err == nil || !strings.Contains(err.Error(), "(its 2 keys were revoked before)") {
		t.Errorf("revoke the keys of human again: %v, want it to say they were revoked before", err)
	}
	all, err := s.AccessKeys()
	if err != nil || len(all) != 3 {
		t.Fatalf("keys: %+v, %v", all, err)
	}
	for _, k := range all {
		if revoked := !k.Revoked.IsZero(); revoked != (k.Name == "human") {
			t.Errorf("key %s of %s: revoked %v", k.ID, k.Name, revoked)
		}
	}
	if _, ok, _ := s.AccessKeyByID("nope"); ok {
		t.Error("found a key that was never made")
	}
}
