package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ipcmesh/ipcmesh"
	bolt "go.etcd.io/bbolt"
)

// Session is a name's current login. The broker decides who may register;
// the store only records it.
type Session struct {
	Name    string
	ID      string // random session id that tokens are bound to
	Expires time.Time
	// Secret tags the secret the session was made under (a short MAC,
	// auth.Keys.SessionTag), so that the broker can tell a session made
	// before the secret was changed. Sessions recorded before it was kept
	// have none.
	Secret string
}

type sessionRecord struct {
	ID      string    `json:"id"`
	Expires time.Time `json:"expires"`
	Secret  string    `json:"secret,omitempty"`
}

type instanceRecord struct {
	Registered  time.Time `json:"registered"`
	LastSeen    time.Time `json:"last_seen"`
	Status      string    `json:"status,omitempty"`
	Description string    `json:"description,omitempty"`
}

// Limits of the presence texts, in bytes.
const (
	MaxStatusBytes      = 200
	MaxDescriptionBytes = 500
)

// SetStatus sets name's status line and, unless description is nil, its
// description (empty clears them), shown by Instances. A nil description
// keeps the one stored, read in the same transaction as the write, so
// that a description set meanwhile by another connection of the name is
// not put back. A status over 200 bytes or a description over 500 is
// bad_request; a name with no instance record is not_found.
func (s *Store) SetStatus(ctx context.Context, name, status string, description *string) error {
	if err := ipcmesh.ValidateName(name); err != nil {
		return err
	}
	if len(status) > MaxStatusBytes {
		return ipcmesh.Errorf(ipcmesh.CodeBadRequest, "a status may be at most %d bytes, got %d: keep it to one short line", MaxStatusBytes, len(status))
	}
	if description != nil && len(*description) > MaxDescriptionBytes {
		return ipcmesh.Errorf(ipcmesh.CodeBadRequest, "a description may be at most %d bytes, got %d", MaxDescriptionBytes, len(*description))
	}
	var refusal error
	err := s.c.submit(ctx, func(tx *bolt.Tx) error {
		refusal = nil
		instances := tablesOf(tx).instances()
		inst, ok, err := getInstance(instances, name)
		if err != nil {
			return err
		}
		if !ok {
			refusal = ipcmesh.Errorf(ipcmesh.CodeNotFound, "there is no instance named %s: register it first", name)
			return nil
		}
		inst.Status = status
		if description != nil {
			inst.Description = *description
		}
		return putInstance(instances, name, inst)
	})
	if err == nil {
		err = refusal
	}
	return wrapFault("set status of "+name, err)
}

// Session returns the current session of name, if it has one. An expired
// session is returned too: the caller checks Expires.
func (s *Store) Session(name string) (Session, bool, error) {
	var (
		sess Session
		ok   bool
	)
	err := s.view(func(tx *bolt.Tx) error {
		v := tablesOf(tx).sessions().Get([]byte(name))
		if v == nil {
			return nil
		}
		var r sessionRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return err
		}
		sess, ok = Session{Name: name, ID: r.ID, Expires: r.Expires, Secret: r.Secret}, true
		return nil
	})
	if err != nil {
		return Session{}, false, fmt.Errorf("session of %s: %w", name, err)
	}
	return sess, ok, nil
}

// PutSession records sess as the session of sess.Name, creating the
// instance if it is new, and marks it seen now. A forward from that name
// ends: a name registered anew is no longer someone else's old name.
func (s *Store) PutSession(ctx context.Context, sess Session) error {
	if err := ipcmesh.ValidateName(sess.Name); err != nil {
		return err
	}
	err := s.c.submit(ctx, func(tx *bolt.Tx) error {
		t := tablesOf(tx)
		now := s.now()
		inst, ok, err := getInstance(t.instances(), sess.Name)
		if err != nil {
			return err
		}
		if !ok {
			inst.Registered = now
			if err := addCount(t.meta(), countInstances, 1); err != nil {
				return err
			}
		}
		inst.LastSeen = now
		if err := putInstance(t.instances(), sess.Name, inst); err != nil {
			return err
		}
		if err := putSession(t.sessions(), sess); err != nil {
			return err
		}
		return endForward(t, sess.Name)
	})
	return wrapFault("put session of "+sess.Name, err)
}

// RevokeSession deletes name's session. Its instance record and inbox stay.
func (s *Store) RevokeSession(ctx context.Context, name string) error {
	if err := ipcmesh.ValidateName(name); err != nil {
		return err
	}
	err := s.c.submit(ctx, func(tx *bolt.Tx) error {
		return tablesOf(tx).sessions().Delete([]byte(name))
	})
	return wrapFault("revoke session of "+name, err)
}

// Touch sets LastSeen of several instances in one write, so the broker can
// flush presence in batches. Unknown names are ignored.
func (s *Store) Touch(ctx context.Context, seen map[string]time.Time) error {
	if len(seen) == 0 {
		return nil
	}
	err := s.c.submit(ctx, func(tx *bolt.Tx) error {
		instances := tablesOf(tx).instances()
		for name, at := range seen {
			inst, ok, err := getInstance(instances, name)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			inst.LastSeen = at
			if err := putInstance(instances, name, inst); err != nil {
				return err
			}
		}
		return nil
	})
	return wrapFault("touch instances", err)
}

// Instances returns every instance record sorted by name, with Unread
// filled in. Online is left false: only the broker knows connections.
func (s *Store) Instances() ([]ipcmesh.Instance, error) {
	var out []ipcmesh.Instance
	err := s.view(func(tx *bolt.Tx) error {
		t := tablesOf(tx)
		// Bucket order is byte order, which for valid names is name order.
		return t.instances().ForEach(func(k, v []byte) error {
			var r instanceRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("instance %s: %w", k, err)
			}
			out = append(out, ipcmesh.Instance{
				Name:        string(k),
				LastSeen:    r.LastSeen,
				Registered:  r.Registered,
				Unread:      count(t.unread(), string(k)),
				Status:      r.Status,
				Description: r.Description,
			})
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list instances: %w", err)
	}
	return out, nil
}

// SessionNames returns the names whose session has not expired: the
// targets of a broadcast.
func (s *Store) SessionNames() ([]string, error) {
	var names []string
	err := s.view(func(tx *bolt.Tx) error {
		now := s.now()
		return tablesOf(tx).sessions().ForEach(func(k, v []byte) error {
			var r sessionRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("session of %s: %w", k, err)
			}
			if now.Before(r.Expires) {
				names = append(names, string(k))
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	return names, nil
}

// Names returns every instance name, for "did you mean" suggestions.
func (s *Store) Names() ([]string, error) {
	var names []string
	err := s.view(func(tx *bolt.Tx) error {
		return tablesOf(tx).instances().ForEach(func(k, _ []byte) error {
			names = append(names, string(k))
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list names: %w", err)
	}
	return names, nil
}

func getInstance(instances *bolt.Bucket, name string) (instanceRecord, bool, error) {
	return getJSON[instanceRecord](instances, name, "instance %s")
}

func putInstance(instances *bolt.Bucket, name string, r instanceRecord) error {
	v, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return instances.Put([]byte(name), v)
}

func putSession(sessions *bolt.Bucket, sess Session) error {
	v, err := json.Marshal(sessionRecord{ID: sess.ID, Expires: sess.Expires, Secret: sess.Secret})
	if err != nil {
		return err
	}
	return sessions.Put([]byte(sess.Name), v)
}
