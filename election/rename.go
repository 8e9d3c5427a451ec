package election

import (
	"context"
	"errors"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/auth"
	"github.com/ipcmesh/ipcmesh/ipc"
)

// Rename moves this peer's instance to newName. Its unread mail moves with
// it, mail to the old name is forwarded for a while, and the new token
// replaces the old one in the data folder. When the old name was the data
// folder's default name, the new one becomes it; any other default stays.
//
// A rename the broker does not answer (it is stopped or hung, or ctx
// ends first) may still be carried out. Its request id is kept, in the
// peer and in the data folder (auth.PendingRename), until a resume or the
// same rename called again settles it: in this process or the next one
// of the folder, whichever broker answers, the rename is done once and
// the peer acts as the name it ended with.
func (p *Peer) Rename(ctx context.Context, newName string) (ipc.Session, error) {
	if err := ipcmesh.ValidateName(newName); err != nil {
		return ipc.Session{}, err
	}
	req := ipc.RenameRequest{RequestID: ipc.NewID(), NewName: newName}
	p.mu.Lock()
	old := p.sess.name
	if p.sess.renamedFrom != "" && old == newName {
		// The same rename again, after a resume picked up the one that
		// got no answer: it is done, as this call asks.
		s := p.sess.picked
		p.mu.Unlock()
		return s, nil
	}
	if p.sess.pendingRename != "" && p.sess.renameTo == newName {
		// The same rename again, after one that got no answer: under its
		// request id the broker answers with the session it made, if it
		// carried that one out, rather than find this connection renamed
		// already and refuse.
		req.RequestID = p.sess.pendingRename
	}
	p.sess.pendingRename, p.sess.renameTo = req.RequestID, newName
	p.mu.Unlock()
	var s ipc.Session
	err := p.Call(ctx, ipc.OpRename, req, &s)
	var refused *ipcmesh.Error
	if errors.As(err, &refused) {
		// Answered: nothing was renamed.
		p.mu.Lock()
		if p.sess.pendingRename == req.RequestID {
			p.sess.pendingRename, p.sess.renameTo = "", ""
		}
		p.mu.Unlock()
		p.keyring.DropRename(old)
		return s, err
	}
	if err != nil {
		// Unanswered, the request id stays pending: the broker may still
		// carry the rename out, and the next resume (a failover, a
		// renewal, the next command of this data folder) or the same
		// rename called again picks it up.
		if old != "" {
			if kerr := p.keyring.KeepRename(auth.PendingRename{Old: old, New: newName, RequestID: req.RequestID}); kerr != nil {
				p.log.Warn("could not keep the rename that got no answer: a later command of this data folder may not pick it up", "old", old, "new", newName, "err", kerr)
			}
		}
		return s, err
	}
	return s, p.renamed(old, s)
}

// RenamedFrom is the name this peer acted as before a resume found that
// a rename of it, which got no answer, had been carried out: the peer
// acts as the new name since. It is "" when no resume did, or when the
// peer has resumed, renamed or registered again after that one.
func (p *Peer) RenamedFrom() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sess.renamedFrom
}

// resumedRenaming settles the resume s, asked for as name with the
// rename pending, which resumed the old name's session or picked up the
// one the rename made.
func (p *Peer) resumedRenaming(name string, pending auth.PendingRename, s ipc.Session) error {
	if s.Name == pending.New {
		return p.pickUp(pending.Old, s)
	}
	if err := p.adopt(s, false); err != nil {
		return err
	}
	// Not carried out, or not yet: the same rename called again sends
	// its request id, so that the broker does it once.
	p.mu.Lock()
	p.sess.pendingRename, p.sess.renameTo = pending.RequestID, pending.New
	p.mu.Unlock()
	if name != s.Name {
		return ipcmesh.Errorf(ipcmesh.CodeNotRegistered,
			"this data folder holds no session for %q: the rename of %s to %s got no answer and was not carried out; run it again (ipcmesh rename --as %s %s) or register %s",
			name, pending.Old, name, pending.Old, name, name)
	}
	return nil
}

// pickUp makes s, the session a rename of old made that got no answer,
// this peer's, as renamed does, and tells Config.OnRenamed.
func (p *Peer) pickUp(old string, s ipc.Session) error {
	if err := p.renamed(old, s); err != nil {
		return err
	}
	p.mu.Lock()
	p.sess.renamedFrom, p.sess.picked = old, s
	p.mu.Unlock()
	p.log.Info("a rename that got no answer was carried out", "old", old, "new", s.Name)
	if p.cfg.OnRenamed != nil {
		p.cfg.OnRenamed(old, s.Name)
	}
	return nil
}

// renamed makes s, the session a rename of old made, this peer's: its
// token replaces old's in the data folder, and when old was the folder's
// default name the new one becomes it.
func (p *Peer) renamed(old string, s ipc.Session) error {
	wasDefault := old != "" && p.DefaultName() == old
	if err := p.adopt(s, wasDefault); err != nil {
		return err
	}
	if old != "" && old != s.Name {
		p.keyring.Remove(old)
		p.keyring.DropRename(old)
	}
	return nil
}
