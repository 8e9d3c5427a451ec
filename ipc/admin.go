package ipc

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// list returns every registered instance with its presence.
func (b *Broker) list(_ *conn, _ string, _ json.RawMessage) (any, error) {
	insts, err := b.store.Instances()
	if err != nil {
		return nil, err
	}
	seen := b.presence.lastSeen()
	for i := range insts {
		in := &insts[i]
		in.Online = b.online(in.Name)
		if t, ok := seen[in.Name]; ok && t.After(in.LastSeen) {
			in.LastSeen = t.UTC()
		}
	}
	return &ListResult{Instances: insts}, nil
}

// status describes the broker and how busy it is.
func (b *Broker) status(_ *conn, _ string, _ json.RawMessage) (any, error) {
	st, err := b.store.Stats()
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	conns := len(b.conns) + b.greetings.Len()
	b.mu.Unlock()
	return &StatusResult{
		Broker:      b.info,
		Version:     Version,
		Uptime:      b.cfg.Now().Sub(b.info.Started).Round(time.Second).String(),
		Connections: conns,
		Online:      b.onlineNames(),
		Waiting:     int(b.presence.waiting.Load()),
		Instances:   st.Instances,
		Messages:    st.Messages,
		Unread:      st.Unread,
		SecretFrom:  string(b.cfg.SecretFrom),
	}, nil
}

// backup writes a consistent copy of the store into the broker's own data
// folder. The broker never writes where a request says: a peer that knows
// the secret but runs as another user must not make it write elsewhere.
func (b *Broker) backup(_ *conn, _ string, _ json.RawMessage) (any, error) {
	dir := filepath.Join(b.store.Dir(), "backups")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("make backup folder: %w", err)
	}
	path := filepath.Join(dir, fmt.Sprintf("ipcmesh-%s-%s.db", b.cfg.Now().UTC().Format("20060102T150405"), NewID()[24:]))
	if err := b.store.Backup(path); err != nil {
		return nil, err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	return &BackupResult{Path: path, Size: fi.Size()}, nil
}

// touch remembers that name was active just now.
func (b *Broker) touch(name string) { b.presence.markSeen(name, b.cfg.Now()) }

// flushSeen writes pending last-seen times to the store in one commit.
func (b *Broker) flushSeen() {
	seen := b.presence.takeSeen()
	if len(seen) == 0 {
		return
	}
	if err := b.store.Touch(context.Background(), seen); err != nil {
		b.log.Warn("save last-seen times", "err", err)
	}
}
