package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/ipcmesh/ipcmesh"
	bolt "go.etcd.io/bbolt"
)

// RenameResult is what a rename did. It is remembered under the request id
// so a retried request gets the same answer.
type RenameResult struct {
	Old, New  string
	Moved     int       // unread messages moved from Old's inbox to New's
	SessionID string    // the new session's id (so a retried request can re-mint the same token)
	Expires   time.Time // the new session's expiry
	// OldSessionID is the id of the session renamed, Old's when the rename
	// was done (empty if Old had none). A client whose answer was lost
	// picks up the new session with a token of Old: only a token of this
	// session, the one that client held, is its claim.
	OldSessionID string
	// OldSessionKept is false in the records of renames done before the
	// store kept OldSessionID. Nothing tells which of Old's sessions such
	// a rename moved; the records are forgotten after DedupRetention.
	OldSessionKept bool
}

type renameRecord struct {
	Result RenameResult `json:"result"`
	Until  time.Time    `json:"until"`
}

// Rename moves old's identity to sess.Name in one transaction: the instance
// record (with sess as its session), the unread inbox (messages keep their
// seq and order; To becomes the new name, SentTo the name the sender used,
// and they move to the new name's conversation with their sender), the
// channel memberships with their read cursors, and a forward old -> new
// that lasts ForwardFor. Messages already read stay in the conversations
// of the old name. A forward from the new
// name ends, since that name is taken again. The broker has already checked
// that the new name is free.
//
// If requestID (when not empty) was already done, Rename returns the stored
// result and writes nothing; reusing it for a different rename is a
// conflict. It fails with not_found if old has no instance record. Renaming
// back (a -> b, then b -> a) is allowed: a's forward ends as a is taken.
func (s *Store) Rename(ctx context.Context, old string, sess Session, requestID string) (RenameResult, error) {
	if err := ipcmesh.ValidateName(old); err != nil {
		return RenameResult{}, err
	}
	if err := ipcmesh.ValidateName(sess.Name); err != nil {
		return RenameResult{}, err
	}
	if old == sess.Name {
		return RenameResult{}, ipcmesh.Errorf(ipcmesh.CodeBadRequest, "%s is already called %s: choose a different new name", old, old)
	}
	if len(requestID) > maxIDLen {
		return RenameResult{}, ipcmesh.Errorf(ipcmesh.CodeBadRequest, "a rename request id may be at most %d bytes, got %d", maxIDLen, len(requestID))
	}
	var (
		res     RenameResult
		refusal error
	)
	err := s.c.submit(ctx, func(tx *bolt.Tx) error {
		var err error
		res, err = s.renameTx(tablesOf(tx), old, sess, requestID, s.now())
		refusal = nil
		if isRefusal(err) {
			refusal, err = err, nil
		}
		return err
	})
	if err == nil {
		err = refusal
	}
	if err != nil {
		return RenameResult{}, wrapFault(fmt.Sprintf("rename %s to %s", old, sess.Name), err)
	}
	return res, nil
}

// renameTx checks everything before it writes anything, so a refusal leaves
// the transaction untouched.
func (s *Store) renameTx(t *tables, old string, sess Session, requestID string, now time.Time) (RenameResult, error) {
	newName := sess.Name
	if requestID != "" {
		r, ok, err := getRename(t.renames(), requestID)
		if err != nil {
			return RenameResult{}, err
		}
		if ok && now.Before(r.Until) {
			if r.Result.Old != old || r.Result.New != newName {
				return RenameResult{}, ipcmesh.Errorf(ipcmesh.CodeConflict,
					"rename request %q was already used to rename %s to %s: use a new request id for each rename",
					requestID, r.Result.Old, r.Result.New)
			}
			return r.Result, nil
		}
	}

	inst, ok, err := getInstance(t.instances(), old)
	if err != nil {
		return RenameResult{}, err
	}
	if !ok {
		return RenameResult{}, ipcmesh.Errorf(ipcmesh.CodeNotFound,
			"there is no instance named %s to rename: register it first", old)
	}
	oldSess, _, err := getJSON[sessionRecord](t.sessions(), old, "session of %s")
	if err != nil {
		return RenameResult{}, err
	}
	// newName is taken again, so mail for it stays with it. Ending its
	// forward first is also why no rename can make a loop: the only new
	// edge is old -> newName, and nothing leaves newName any more.
	if err := endForward(t, newName); err != nil {
		return RenameResult{}, err
	}
	moved, err := moveInbox(t, old, newName)
	if err != nil {
		return RenameResult{}, err
	}
	if err := moveMemberships(t, old, newName); err != nil {
		return RenameResult{}, err
	}

	if t.instances().Get([]byte(newName)) != nil {
		// Two records become one.
		if err := addCount(t.meta(), countInstances, -1); err != nil {
			return RenameResult{}, err
		}
	}
	inst.LastSeen = now
	if err := putInstance(t.instances(), newName, inst); err != nil {
		return RenameResult{}, err
	}
	if err := t.instances().Delete([]byte(old)); err != nil {
		return RenameResult{}, err
	}
	if err := t.sessions().Delete([]byte(old)); err != nil {
		return RenameResult{}, err
	}
	if err := putSession(t.sessions(), sess); err != nil {
		return RenameResult{}, err
	}
	if err := putForward(t, old, forward{To: newName, Until: now.Add(s.opts.ForwardFor)}); err != nil {
		return RenameResult{}, err
	}
	if err := recordEarlier(t, old, newName, now); err != nil {
		return RenameResult{}, err
	}

	res := RenameResult{
		Old: old, New: newName, Moved: moved, SessionID: sess.ID, Expires: sess.Expires,
		OldSessionID: oldSess.ID, OldSessionKept: true,
	}
	if requestID != "" {
		if err := putRename(t, requestID, renameRecord{Result: res, Until: now.Add(s.opts.DedupRetention)}); err != nil {
			return RenameResult{}, err
		}
	}
	return res, nil
}

// moveInbox moves every unread message of old to newName's inbox, which
// may already hold mail queued for newName; seqs are store-wide, so the
// merged inbox stays in order.
func moveInbox(t *tables, old, newName string) (int, error) {
	from := t.inboxes().Bucket([]byte(old))
	if from == nil {
		return 0, nil
	}
	to, err := t.inboxes().CreateBucketIfNotExists([]byte(newName))
	if err != nil {
		return 0, err
	}
	var keys, ids [][]byte
	c := from.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		keys = append(keys, bytes.Clone(k))
		ids = append(ids, bytes.Clone(v))
	}
	for i, k := range keys {
		rec, ok, err := getRecord(t.messages(), k)
		if err != nil {
			return 0, err
		}
		if !ok {
			return 0, fmt.Errorf("inbox entry %x of %s has no message", k, old)
		}
		rec.To = newName
		// A message that was forwarded before keeps the name its sender
		// really used.
		if rec.SentTo == "" {
			rec.SentTo = old
		}
		if err := t.messages().Put(k, rec.marshal()); err != nil {
			return 0, err
		}
		// The message now belongs to the conversation with the new name.
		seq := seqOf(k)
		if err := t.conversations().Delete(withSeq(convPrefix(rec.From, old), seq)); err != nil {
			return 0, err
		}
		if err := t.conversations().Put(withSeq(convPrefix(rec.From, newName), seq), nil); err != nil {
			return 0, err
		}
		if err := to.Put(k, ids[i]); err != nil {
			return 0, err
		}
	}
	if err := t.inboxes().DeleteBucket([]byte(old)); err != nil {
		return 0, err
	}
	if err := addCount(t.unread(), old, -len(keys)); err != nil {
		return 0, err
	}
	return len(keys), addCount(t.unread(), newName, len(keys))
}

// RenameDone returns the result of rename request requestID if it was done
// within DedupRetention.
func (s *Store) RenameDone(requestID string) (RenameResult, bool, error) {
	if requestID == "" || len(requestID) > maxIDLen {
		return RenameResult{}, false, nil
	}
	var (
		r  renameRecord
		ok bool
	)
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		r, ok, err = getRename(tablesOf(tx).renames(), requestID)
		return err
	})
	if err != nil {
		return RenameResult{}, false, fmt.Errorf("rename request %q: %w", requestID, err)
	}
	if !ok || !s.now().Before(r.Until) {
		return RenameResult{}, false, nil
	}
	return r.Result, true, nil
}

func getRename(renames *bolt.Bucket, requestID string) (renameRecord, bool, error) {
	return getJSON[renameRecord](renames, requestID, "rename request %q")
}

// putRename remembers a rename request, replacing an expired entry for the
// same id that Sweep has not reached yet.
func putRename(t *tables, requestID string, r renameRecord) error {
	prev, ok, err := getRename(t.renames(), requestID)
	if err != nil {
		return err
	}
	if ok {
		if err := t.renameExpiry().Delete(timeKey(prev.Until, []byte(requestID))); err != nil {
			return err
		}
	}
	v, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if err := t.renames().Put([]byte(requestID), v); err != nil {
		return err
	}
	return t.renameExpiry().Put(timeKey(r.Until, []byte(requestID)), nil)
}
