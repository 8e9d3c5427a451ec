package ipc

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/auth"
)

// ErrBadAccessKey refuses a key that is unknown or whose tag is wrong. It is
// the one answer for both, here and at the HTTP face's own check, so that a
// guesser learns nothing but "no".
var ErrBadAccessKey = ipcmesh.Errorf(ipcmesh.CodeUnauthorized, "the access key is not valid for this mesh")

// keyCreate makes an access key for a name. The name need not be
// registered yet: a key for "human" is usually made before the person
// first opens the web page.
func (b *Broker) keyCreate(c *conn, _ string, body json.RawMessage) (any, error) {
	var req KeyCreateRequest
	if err := decode(OpKeyCreate, body, &req); err != nil {
		return nil, err
	}
	if err := b.ownerOnly(c, "make", req.StopKey); err != nil {
		return nil, err
	}
	if err := b.newName(req.Name); err != nil {
		return nil, err
	}
	// key list prints the label. (The store bounds its length.)
	if err := checkPlainLine("key label", req.Label, "drop it"); err != nil {
		return nil, err
	}
	id := req.ID
	if id == "" {
		id = auth.NewAccessKeyID()
	} else if !auth.IsAccessKeyID(id) {
		return nil, ipcmesh.Errorf(ipcmesh.CodeBadRequest, "key id %q is not 16 lower-case hex digits: leave it out, and the broker makes one", id)
	}
	k := ipcmesh.AccessKey{ID: id, Name: req.Name, Label: req.Label, Created: b.cfg.Now().UTC()}
	if err := b.store.PutAccessKey(c.ctx, k); err != nil {
		if req.ID != "" && ipcmesh.CodeOf(err) == ipcmesh.CodeConflict {
			return b.keyMadeBefore(req)
		}
		return nil, err
	}
	b.log.Info("access key created", "id", k.ID, "name", k.Name)
	return &KeyCreateResult{Key: b.cfg.Keys.AccessKey(k.ID, k.Name), Info: k}, nil
}

// ownerOnly refuses to make or revoke an access key for a connection
// that did not send the broker's stop key, when the broker has one. The
// secret proves a connection is a peer of the mesh, which may be of
// another host or another user; the stop key proves it can read the
// broker's data folder, as only the broker's own user can. Without the
// check such a peer could make a key for any name and act as it at an
// HTTP face run from that folder, which resumes the name's session with
// the token the folder keeps: a name whose session it could not claim.
func (b *Broker) ownerOnly(c *conn, what, key string) error {
	if b.cfg.StopKey == "" {
		return nil
	}
	if hmac.Equal([]byte(key), []byte(b.cfg.StopKey)) {
		return nil
	}
	// A stop key could be guessed here as at stop: a wrong one counts
	// against the same limit per connection. A right one does not: the
	// owner may make and revoke keys as fast as it likes.
	if ok, retry := b.regs.Allow(c.id); !ok {
		return ipcmesh.RateLimited("too many stop, register, resume or access key attempts on this connection", retry)
	}
	return ipcmesh.Errorf(ipcmesh.CodeUnauthorized, "only the user who runs the broker may %s access keys: the request must carry the stop_key of broker.json in the data folder this broker serves (%s), which ipcmesh key run with that IPC_DATA_DIR reads", what, b.info.DataDir)
}

// keyMadeBefore answers a key_create whose id is taken: a request sent
// again, whose first try made the key, gets that key again. Handing it
// out costs nothing: whoever may ask key_create may make a key for the
// name anyway. An id taken by another request's key is a conflict, and
// so is a key revoked since: it would act as nobody.
func (b *Broker) keyMadeBefore(req KeyCreateRequest) (any, error) {
	k, ok, err := b.store.AccessKeyByID(req.ID)
	if err != nil {
		return nil, err
	}
	if !ok || k.Name != req.Name || k.Label != req.Label || !k.Revoked.IsZero() {
		return nil, ipcmesh.Errorf(ipcmesh.CodeConflict, "key id %s is taken by another key: make a fresh id (or leave it out)", req.ID)
	}
	return &KeyCreateResult{Key: b.cfg.Keys.AccessKey(k.ID, k.Name), Info: k}, nil
}

// keyCheck says who a key acts as. Every refusal is the same kind
// (unauthorized) so that a guesser learns nothing but "no"; the messages
// differ only where the holder of a real key needs to know what happened.
func (b *Broker) keyCheck(_ *conn, _ string, body json.RawMessage) (any, error) {
	var req KeyCheckRequest
	if err := decode(OpKeyCheck, body, &req); err != nil {
		return nil, err
	}
	id, err := auth.AccessKeyID(req.Key)
	if err != nil {
		return nil, err
	}
	k, ok, err := b.store.AccessKeyByID(id)
	if err != nil {
		return nil, err
	}
	if !ok || !b.cfg.Keys.VerifyAccessKey(req.Key, k.Name) {
		return nil, ErrBadAccessKey
	}
	if !k.Revoked.IsZero() {
		return nil, ipcmesh.Errorf(ipcmesh.CodeUnauthorized, "access key %s of %s was revoked on %s", k.ID, k.Name, k.Revoked.Format("2006-01-02 15:04 MST"))
	}
	return k, nil
}

// revokeNoticeTimeout bounds how long a revoke waits for the connections
// of the keys' names to be handed their key_revoked event, and for those
// that keep keys to say they forgot them.
const revokeNoticeTimeout = 2 * time.Second

// keyRevoke revokes keys and tells the connections of their names, so that
// an HTTP face ends the streams opened with them and stops trusting the
// keys at once. It answers once those events are written and every
// connection that keeps its name's keys in memory (an HTTP face) has said
// with key_seen that it forgot them: the revoker's next request through
// the face is refused. Written is not enough, since the face reads its
// events on a goroutine of its own, which a busy machine may not run
// before that request. A keeper that does not answer within
// revokeNoticeTimeout has its connection cut, which makes it forget
// every key it kept.
func (b *Broker) keyRevoke(c *conn, _ string, body json.RawMessage) (any, error) {
	var req KeyRevokeRequest
	if err := decode(OpKeyRevoke, body, &req); err != nil {
		return nil, err
	}
	if err := b.ownerOnly(c, "revoke", req.StopKey); err != nil {
		return nil, err
	}
	if req.Name != "" {
		if err := ipcmesh.ValidateName(req.Name); err != nil {
			return nil, err
		}
	}
	revoked, err := b.store.RevokeAccessKeys(c.ctx, req.ID, req.Name)
	if err != nil {
		return nil, err
	}
	type notice struct {
		to   *conn
		seq  uint64
		id   string
		seen <-chan struct{} // nil unless to keeps keys
	}
	var notices []notice
	for _, k := range revoked {
		b.log.Info("access key revoked", "id", k.ID, "name", k.Name)
		for _, sub := range b.presence.subscribers(k.Name) {
			n := notice{to: sub, id: k.ID}
			if sub.keepsKeys.Load() {
				n.seen = sub.expectSeen(k.ID)
			}
			n.seq = sub.event(EventKeyRevoked, k)
			notices = append(notices, n)
		}
	}
	ctx, cancel := context.WithTimeout(c.ctx, revokeNoticeTimeout)
	defer cancel()
	for _, n := range notices {
		n.to.waitFlushed(ctx, n.seq)
	}
	for _, n := range notices {
		if n.seen == nil {
			continue
		}
		select {
		case <-n.seen:
		case <-n.to.ctx.Done():
		case <-ctx.Done():
			// Cut it off only for its silence: if the revoker left, nobody
			// waits for the answer.
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				b.log.Warn("a connection that keeps keys did not say it forgot a revoked one in time; cutting it off so that it forgets them all",
					"conn", n.to.id, "key_id", n.id)
				n.to.cutOff()
			}
		}
		n.to.forgetSeen(n.id, n.seen)
	}
	return &KeyRevokeResult{Revoked: revoked}, nil
}

// keySeen is a connection that keeps keys saying it forgot a revoked one.
func (b *Broker) keySeen(c *conn, _ string, body json.RawMessage) (any, error) {
	var req KeySeenRequest
	if err := decode(OpKeySeen, body, &req); err != nil {
		return nil, err
	}
	c.markSeen(req.ID)
	return nil, nil
}

// keyList lists every key record.
func (b *Broker) keyList(_ *conn, _ string, _ json.RawMessage) (any, error) {
	keys, err := b.store.AccessKeys()
	if err != nil {
		return nil, fmt.Errorf("list access keys: %w", err)
	}
	if keys == nil {
		keys = []ipcmesh.AccessKey{}
	}
	return &KeyListResult{Keys: keys}, nil
}
