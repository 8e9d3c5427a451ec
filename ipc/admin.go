package ipc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/store"
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

// logStateTimeout bounds status's questions to a cluster about its log.
const logStateTimeout = 2 * time.Second

// status describes the broker and how busy it is. A store that fails
// (a full disk, until it mends) does not fail it: the broker's own state
// is answered with the store's error in place of the counts.
func (b *Broker) status(_ *conn, _ string, _ json.RawMessage) (any, error) {
	b.mu.Lock()
	conns := len(b.conns) + b.greetings.Len()
	b.mu.Unlock()
	res := &StatusResult{
		Broker:      b.info,
		Version:     Version,
		Uptime:      b.cfg.Now().Sub(b.info.Started).Round(time.Second).String(),
		Connections: conns,
		Online:      b.onlineNames(),
		Waiting:     int(b.presence.waiting.Load()),
		Store:       StoreOK,
		SecretFrom:  string(b.cfg.SecretFrom),
	}
	st, err := b.store.Stats()
	f, filed := b.store.(Filed)
	if filed {
		// Read whatever the store's state, since a full disk is when
		// they matter most, and after Stats, whose read first mends a
		// store broken by a full disk that has room again.
		d := f.Disk()
		if d.Free >= 0 {
			res.StoreDiskFree = &d.Free
		}
		if r := d.Refused; r.Err != nil {
			res.StoreRefused, res.StoreRefusedSince, res.StoreRefusedLast, res.StoreTaken = r.Err.Error(), r.Since, r.Last, r.Taken
			if r.Denied {
				res.StoreRefusedFor = RefusedForPermission
			}
		}
	}
	if err != nil {
		// The words a request the store refused gets, not the wrapping
		// of the store's own call.
		var e *ipcmesh.Error
		if errors.As(err, &e) {
			err = e
		}
		b.log.Warn("status: the store did not answer", "err", err)
		res.Store, res.StoreError = StoreUnavailable, err.Error()
		return res, nil
	}
	res.Instances, res.Messages, res.Unread = &st.Instances, &st.Messages, &st.Unread
	if l, ok := b.store.(Logged); ok {
		// Like the file's size, a help: a cluster slow to say is not
		// worth holding status for.
		ctx, cancel := context.WithTimeout(context.Background(), logStateTimeout)
		ls, err := l.LogState(ctx)
		cancel()
		if ls.Stream != "" {
			res.Cluster = &ClusterStatus{Stream: ls.Stream, Replicas: ls.Replicas, Servers: ls.Servers, Connected: ls.Connected}
		}
		if err == nil {
			res.Log = &LogStatus{First: ls.First, Last: ls.Last, Bytes: ls.Bytes, Applied: ls.Applied, Copy: ls.Copy, Copied: ls.Copied, Every: ls.Every, CopiesError: ls.CopiesError, Current: ls.Current, Behind: ls.Behind}
		} else {
			b.log.Warn("status: the state of the cluster's log", "err", err)
			res.LogError = err.Error()
		}
	}
	if filed {
		// The file's size is a help, not the answer: a store that
		// counted but cannot say it is not worth failing status for.
		if space, err := f.Space(); err == nil {
			res.StoreBytes, res.StoreFree = space.FileBytes, space.FreeBytes
		} else {
			b.log.Warn("status: the store's file size", "err", err)
		}
	}
	return res, nil
}

// backup writes a consistent copy of the store into the broker's own data
// folder. The broker never writes where a request says: a peer that knows
// the secret but runs as another user must not make it write elsewhere.
func (b *Broker) backup(_ *conn, _ string, _ json.RawMessage) (any, error) {
	dir := filepath.Join(b.store.Dir(), "backups")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		if store.Unwritable(err) {
			// A data folder made read-only is the operator's to mend,
			// not a fault of the broker's.
			return nil, ipcmesh.Errorf(ipcmesh.CodeUnavailable, "make the backup folder: %v: make the data folder writable for the user the broker runs as (and its file system read-write), then back up again", err)
		}
		return nil, fmt.Errorf("make backup folder: %w", err)
	}
	path := filepath.Join(dir, fmt.Sprintf("ipcmesh-%s-%s.db", b.cfg.Now().UTC().Format("20060102T150405"), NewID()[24:]))
	missing, err := b.store.Backup(path)
	if err != nil {
		return nil, err
	}
	shown := missing[:min(len(missing), MaxMissingShown)]
	if len(missing) > 0 {
		b.log.Warn("the data folder lacks files that records of the store name, removed by hand: the backup leaves them out, as the store lacks them", "backup", path, "missing", len(missing), "files", shown)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	return &BackupResult{Path: path, Size: fi.Size(), Missing: shown, MoreMissing: len(missing) - len(shown)}, nil
}

// touch remembers that name was active just now.
func (b *Broker) touch(name string) { b.presence.markSeen(name, b.cfg.Now()) }

// flushSeen writes pending last-seen times to the store in one commit.
func (b *Broker) flushSeen(ctx context.Context) {
	seen := b.presence.takeSeen()
	if len(seen) == 0 {
		return
	}
	if err := b.store.Touch(ctx, seen); err != nil {
		b.log.Warn("save last-seen times", "err", err)
	}
}

// lastSeenFlush bounds the last write of last-seen times as the broker
// stops. They are a courtesy of list and who; a cluster out of reach held
// a broker's exit, and so its successor's start, for the whole write
// timeout of the cluster (12 s) to save them.
const lastSeenFlush = 2 * time.Second

// flushSeenLast writes the pending last-seen times as the broker stops,
// for at most lastSeenFlush or until ctx ends.
func (b *Broker) flushSeenLast(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, lastSeenFlush)
	defer cancel()
	b.flushSeen(ctx)
}
