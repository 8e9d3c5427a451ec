package store

import (
	"cmp"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ipcmesh/ipcmesh"
	bolt "go.etcd.io/bbolt"
)

// An instance record outlives its session: list shows it offline, with
// the time it was last seen, so that a name that stepped away is still
// there to write to. But a script that acts as a name of its own each run
// (IPC_NAME=ci-1234) left a record per run, for ever, and list and the
// suggestions grew with them. So the sweep forgets an instance that has
// been gone as long as read history is kept, and that nothing still ties
// to the mesh: no session, no unread mail, no access key, no channel, no
// forward. Mail sent to it afterwards is queued as for a name never
// registered (QueueRetention); registering it again makes it anew. What
// it sent and read stays history, under its name, until that history's
// own retention.

// forgettable returns the names of the instances last seen before
// cutoff, read outside the sweep's write so that the write does not scan
// every instance; the write checks each again. A record that cannot be
// read is left out, and said.
func (s *Store) forgettable(cutoff time.Time) ([]string, error) {
	var (
		names []string
		bad   error
	)
	err := s.view(func(tx *bolt.Tx) error {
		return tablesOf(tx).instances().ForEach(func(k, v []byte) error {
			var r instanceRecord
			if err := json.Unmarshal(v, &r); err != nil {
				bad = cmp.Or(bad, fmt.Errorf("instance %s: %w", k, err))
				return nil
			}
			if r.LastSeen.Before(cutoff) {
				names = append(names, string(k))
			}
			return nil
		})
	})
	return names, cmp.Or(err, bad)
}

// forgetInstances removes those of names that are still forgettable at
// now: last seen before cutoff, and tied to the mesh by nothing. A record
// it cannot read keeps its instance, or, when it may tie any of them (an
// access key's, a channel's), every one; it is returned as skipped, apart
// from a write's error, which ends the sweep's transaction.
func forgetInstances(t *tables, names []string, now, cutoff time.Time) (n int, skipped, err error) {
	if len(names) == 0 {
		return 0, nil, nil
	}
	tied, skipped := tiedNames(t)
	if skipped != nil {
		return 0, skipped, nil
	}
	for _, name := range names {
		inst, ok, err := getInstance(t.instances(), name)
		if err != nil {
			skipped = cmp.Or(skipped, err)
			continue
		}
		if !ok || !inst.LastSeen.Before(cutoff) || tied[name] {
			continue
		}
		sess, held, err := getJSON[sessionRecord](t.sessions(), name, "session of %s")
		if err != nil {
			skipped = cmp.Or(skipped, err)
			continue
		}
		if held && now.Before(sess.Expires) {
			continue
		}
		if count(t.unread(), name) > 0 || t.forwards().Get([]byte(name)) != nil {
			continue
		}
		if err := forget(t, name); err != nil {
			return n, skipped, err
		}
		n++
	}
	return n, skipped, nil
}

// forget removes the instance name: its record, its session's, its
// empty inbox, and its place in the count.
func forget(t *tables, name string) error {
	if err := t.instances().Delete([]byte(name)); err != nil {
		return err
	}
	if err := t.sessions().Delete([]byte(name)); err != nil {
		return err
	}
	if inbox := t.inboxes().Bucket([]byte(name)); inbox != nil {
		if k, _ := inbox.Cursor().First(); k == nil {
			if err := t.inboxes().DeleteBucket([]byte(name)); err != nil {
				return err
			}
		}
	}
	return addCount(t.meta(), countInstances, -1)
}

// tiedNames returns the names that an access key not revoked acts as, or
// that are members of a channel: a key's holder may come back at any
// time, and a channel lists its members.
func tiedNames(t *tables) (map[string]bool, error) {
	tied := map[string]bool{}
	err := t.accessKeys().ForEach(func(id, v []byte) error {
		var k ipcmesh.AccessKey
		if err := json.Unmarshal(v, &k); err != nil {
			return fmt.Errorf("access key %s: %w", id, err)
		}
		if k.Revoked.IsZero() {
			tied[k.Name] = true
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = t.channels().ForEach(func(k, v []byte) error {
		var c channelRecord
		if err := json.Unmarshal(v, &c); err != nil {
			return fmt.Errorf("channel %s: %w", k, err)
		}
		for _, m := range c.Members {
			tied[m] = true
		}
		return nil
	})
	return tied, err
}
