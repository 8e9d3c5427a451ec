package election

import (
	"context"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/auth"
	"github.com/ipcmesh/ipcmesh/ipc"
)

// CreateKey makes an access key that acts as name at the HTTP face. The
// key is in the result and nowhere else: the broker keeps only its record.
// The key's id is made here, so that the request, sent again to the next
// broker after a failover, makes one key, not two.
func (p *Peer) CreateKey(ctx context.Context, name, label string) (ipc.KeyCreateResult, error) {
	var r ipc.KeyCreateResult
	err := p.Call(ctx, ipc.OpKeyCreate, ipc.KeyCreateRequest{Name: name, Label: label, ID: auth.NewAccessKeyID(), StopKey: p.stopKey(ctx)}, &r)
	return r, err
}

// stopKey is the stop key of the broker this peer is connected to, read
// from the data folder's broker.json, which the broker asks for to make
// or revoke access keys. It is "" when the record names another broker,
// or none: a key goes only to the broker that made it, never to one of
// another folder or user that holds the port.
func (p *Peer) stopKey(ctx context.Context) string {
	c, err := p.current(ctx)
	if err != nil {
		return ""
	}
	rec, alive := readBrokerRecord(p.cfg.DataDir)
	if !alive || rec.PID != c.Broker().PID {
		return ""
	}
	return rec.StopKey
}

// CheckKey returns who key acts as, or an unauthorized error when the key
// is malformed, forged or revoked.
func (p *Peer) CheckKey(ctx context.Context, key string) (ipcmesh.AccessKey, error) {
	var r ipcmesh.AccessKey
	err := p.Call(ctx, ipc.OpKeyCheck, ipc.KeyCheckRequest{Key: key}, &r)
	return r, err
}

// RevokeKeys revokes the key with id, or when id is empty every key of
// name, and returns what it revoked.
func (p *Peer) RevokeKeys(ctx context.Context, id, name string) ([]ipcmesh.AccessKey, error) {
	var r ipc.KeyRevokeResult
	err := p.Call(ctx, ipc.OpKeyRevoke, ipc.KeyRevokeRequest{ID: id, Name: name, StopKey: p.stopKey(ctx)}, &r)
	return r.Revoked, err
}

// Keys lists every access key, revoked ones included.
func (p *Peer) Keys(ctx context.Context) ([]ipcmesh.AccessKey, error) {
	var r ipc.KeyListResult
	err := p.Call(ctx, ipc.OpKeyList, nil, &r)
	return r.Keys, err
}

// ForgotKey tells the broker that this peer, which keeps its name's keys
// (Config.KeepsKeys), has forgotten the key with id since it was told of
// its revocation: the revoke waits for it.
func (p *Peer) ForgotKey(ctx context.Context, id string) error {
	return p.Call(ctx, ipc.OpKeySeen, ipc.KeySeenRequest{ID: id}, nil)
}
