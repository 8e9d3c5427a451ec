package store

import (
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
// every instance; the write checks each again.
func (s *Store) forgettable(cutoff time.Time) ([]string, error) {
	var names []string
	err := s.view(func(tx *bolt.Tx) error {
		return tablesOf(tx).instances().ForEach(func(k, v []byte) error {
			var r instanceRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("instance %s: %w", k, err)
			}
			if r.LastSeen.Before(cutoff) {
				names = append(names, string(k))
			}
			return nil
		})
	})
	return names, err
}

// forgetInstances removes those of names that are still forgettable at
// now: last seen before cutoff, and tied to the mesh by nothing.
func forgetInstances(t *tables, names []string, now, cutoff time.Time) (int, error) {
	if len(names) == 0 {
		return 0, nil
	}
	tied, err := tiedNames(t)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, name := range names {
		inst, ok, err := getInstance(t.instances(), name)
		if err != nil || !ok || !inst.LastSeen.Before(cutoff) || tied[name] {
			if err != nil {
				return n, err
			}
			continue
		}
		sess, held, err := getJSON[sessionRecord](t.sessions(), name, "session of %s")
		if err != nil {
			return n, err
		}
		if held && now.Before(sess.Expires) {
			continue
		}
		if count(t.unread(), name) > 0 || t.forwards().Get([]byte(name)) != nil {
			continue
		}
		if err := t.instances().Delete([]byte(name)); err != nil {
			return n, err
		}
		if err := t.sessions().Delete([]byte(name)); err != nil {
			return n, err
		}
		if inbox := t.inboxes().Bucket([]byte(name)); inbox != nil {
			if k, _ := inbox.Cursor().First(); k == nil {
				if err := t.inboxes().DeleteBucket([]byte(name)); err != nil {
					return n, err
				}
			}
		}
		if err := addCount(t.meta(), countInstances, -1); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// tiedNames returns the names that an access key not revoked acts as, or
// that are members of a channel: a key's holder may come back at any
// time, and a channel lists its members.
func tiedNames(t *tables) (map[string]bool, error) {
	tied := map[string]bool{}
	err := t.accessKeys().ForEach(func(_, v []byte) error {
		var k ipcmesh.AccessKey
		if err := json.Unmarshal(v, &k); err != nil {
			return err
		}
		if k.Revoked.IsZero() {
			tied[k.Name] = true
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("access keys: %w", err)
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
