package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/ipcmesh/ipcmesh"
	bolt "go.etcd.io/bbolt"
)

// maxKeyLabel bounds a key's label: it is a note for people, not storage.
const maxKeyLabel = 200

// PutAccessKey records a new key. Its ID must be new.
func (s *Store) PutAccessKey(ctx context.Context, k ipcmesh.AccessKey) error {
	if err := ipcmesh.ValidateName(k.Name); err != nil {
		return err
	}
	if k.ID == "" {
		return fmt.Errorf("put access key: empty id")
	}
	if len(k.Label) > maxKeyLabel {
		return ipcmesh.Errorf(ipcmesh.CodeBadRequest, "the key label is %d bytes, over the limit of %d: say in a few words who the key is for", len(k.Label), maxKeyLabel)
	}
	v, err := json.Marshal(k)
	if err != nil {
		return fmt.Errorf("put access key %s: %w", k.ID, err)
	}
	var refusal error
	err = s.c.submit(ctx, func(tx *bolt.Tx) error {
		b := tablesOf(tx).accessKeys()
		if b.Get([]byte(k.ID)) != nil {
			refusal = ipcmesh.Errorf(ipcmesh.CodeConflict, "an access key with id %s exists already", k.ID)
			return nil
		}
		return b.Put([]byte(k.ID), v)
	})
	if err != nil {
		return wrapFault("put access key "+k.ID, err)
	}
	return refusal
}

// AccessKeyByID returns the record of the key with id.
func (s *Store) AccessKeyByID(id string) (ipcmesh.AccessKey, bool, error) {
	var (
		k  ipcmesh.AccessKey
		ok bool
	)
	err := s.view(func(tx *bolt.Tx) error {
		v := tablesOf(tx).accessKeys().Get([]byte(id))
		if v == nil {
			return nil
		}
		ok = true
		return json.Unmarshal(v, &k)
	})
	if err != nil {
		return ipcmesh.AccessKey{}, false, fmt.Errorf("access key %s: %w", id, err)
	}
	return k, ok, nil
}

// AccessKeys returns every key record, oldest first.
func (s *Store) AccessKeys() ([]ipcmesh.AccessKey, error) {
	var out []ipcmesh.AccessKey
	err := s.view(func(tx *bolt.Tx) error {
		return tablesOf(tx).accessKeys().ForEach(func(_, v []byte) error {
			var k ipcmesh.AccessKey
			if err := json.Unmarshal(v, &k); err != nil {
				return err
			}
			out = append(out, k)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("access keys: %w", err)
	}
	slices.SortFunc(out, func(a, b ipcmesh.AccessKey) int { return a.Created.Compare(b.Created) })
	return out, nil
}

// RevokeAccessKeys revokes the key with id or, when id is empty, every key
// of name, and returns the keys it revoked (those revoked before are left
// as they were). With both, it revokes the key id only if it acts as
// name: a caller that named both meant that name's key, and revoking
// another's would end a key nobody asked to end. Revoking nothing is
// not_found.
func (s *Store) RevokeAccessKeys(ctx context.Context, id, name string) ([]ipcmesh.AccessKey, error) {
	if id == "" && name == "" {
		return nil, ipcmesh.Errorf(ipcmesh.CodeBadRequest, "say which key to revoke: its id, or a name to revoke all of its keys")
	}
	var revoked []ipcmesh.AccessKey
	var already int // keys asked for that were revoked before
	err := s.c.submit(ctx, func(tx *bolt.Tx) error {
		revoked, already = revoked[:0], 0
		b := tablesOf(tx).accessKeys()
		now := time.Unix(0, s.now().UnixNano()).UTC()
		// Collect first: bbolt does not allow writes while iterating.
		err := b.ForEach(func(kid, v []byte) error {
			if id != "" && string(kid) != id {
				return nil
			}
			var k ipcmesh.AccessKey
			if err := json.Unmarshal(v, &k); err != nil {
				return err
			}
			if name != "" && k.Name != name {
				return nil
			}
			if !k.Revoked.IsZero() {
				already++
				return nil
			}
			k.Revoked = now
			revoked = append(revoked, k)
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range revoked {
			v, err := json.Marshal(k)
			if err != nil {
				return err
			}
			if err := b.Put([]byte(k.ID), v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, wrapFault("revoke access keys", err)
	}
	if len(revoked) == 0 {
		what := "no live access key has id " + id
		switch {
		case id == "":
			what = "no live access key acts as " + name
		case name != "":
			what += " and acts as " + name
		}
		// Revoking twice is no mistake to hunt for: say it is done.
		switch {
		case already == 1 && id != "":
			what += " (it was revoked before)"
		case already == 1:
			what += " (its one key was revoked before)"
		case already > 1:
			what += fmt.Sprintf(" (its %d keys were revoked before)", already)
		}
		return nil, ipcmesh.Errorf(ipcmesh.CodeNotFound, "%s: ipcmesh key list shows the keys", what)
	}
	return revoked, nil
}
