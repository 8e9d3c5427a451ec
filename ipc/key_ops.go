package ipc

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
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
	if err := ipcmesh.ValidateName(req.Name); err != nil {
		return nil, err
	}
	if strings.ContainsAny(req.Label, "\r\n") {
		return nil, ipcmesh.Errorf(ipcmesh.CodeBadRequest, "the key label must be one line")
	}
	k := ipcmesh.AccessKey{ID: auth.NewAccessKeyID(), Name: req.Name, Label: req.Label, Created: b.cfg.Now().UTC()}
	if err := b.store.PutAccessKey(c.ctx, k); err != nil {
		return nil, err
	}
	b.log.Info("access key created", "id", k.ID, "name", k.Name)
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
// of the keys' names to be handed their key_revoked event.
const revokeNoticeTimeout = 2 * time.Second

// keyRevoke revokes keys and tells the connections of their names, so that
// an HTTP face ends the streams opened with them and stops trusting the
// keys at once. It answers once those events are written: the revoker's
// next request through the face then comes after the face has the news.
func (b *Broker) keyRevoke(c *conn, _ string, body json.RawMessage) (any, error) {
	var req KeyRevokeRequest
	if err := decode(OpKeyRevoke, body, &req); err != nil {
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
		to  *conn
		seq uint64
	}
	var notices []notice
	for _, k := range revoked {
		b.log.Info("access key revoked", "id", k.ID, "name", k.Name)
		for _, sub := range b.presence.subscribers(k.Name) {
			notices = append(notices, notice{sub, sub.event(EventKeyRevoked, k)})
		}
	}
	ctx, cancel := context.WithTimeout(c.ctx, revokeNoticeTimeout)
	defer cancel()
	for _, n := range notices {
		n.to.waitFlushed(ctx, n.seq)
	}
	return &KeyRevokeResult{Revoked: revoked}, nil
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
