package ipc

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/auth"
	"github.com/ipcmesh/ipcmesh/store"
)

// register claims a name for the connection. The rules, in order: a valid
// token for the name resumes it; a name acting on another connection is
// taken; a name whose session has not expired is taken (only its token can
// claim it); anything else is free.
func (b *Broker) register(c *conn, _ string, body json.RawMessage) (any, error) {
	var req RegisterRequest
	if err := decode(OpRegister, body, &req); err != nil {
		return nil, err
	}
	if err := b.newName(req.Name); err != nil {
		return nil, err
	}
	if req.Session != "" {
		if err := ValidateID("session", req.Session); err != nil {
			return nil, err
		}
	}
	if err := b.allowRegister(c); err != nil {
		return nil, err
	}
	ctx, cancel := b.decideCtx(c)
	defer cancel()
	b.names.Lock()
	defer b.names.Unlock()
	// The name the request was read with may be gone by now (see
	// stillActsAs), and with it the claim to the name's session.
	current := b.presence.nameOf(c)
	now := b.cfg.Now()
	sess, found, err := b.store.Session(req.Name)
	if err != nil {
		return nil, err
	}
	valid := found && b.live(sess, now)
	if req.Holder != "" && b.presence.heldByAnother(req.Name, req.Holder, c) {
		// Its token or session id is no claim here: another process of
		// the data folder that keeps them holds the name.
		return nil, b.nameTaken(req.Name, "is in use by a connected instance")
	}
	if req.Token != "" && valid {
		if tok, err := b.cfg.Keys.ParseToken(req.Token); err == nil && tok.Name == req.Name && sameSecret(tok.SessionID, sess.ID) && !tok.Expired(now) {
			return b.bindSession(ctx, c, req.Name, sess.ID, wantsOf(req.Subscribe, req.KeepsKeys, req.Holder), true)
		}
		// A stale or foreign token is no claim: the ordinary rules apply.
	}
	// The connection acting as the name renews its session even after it
	// expired: nobody else could take the name while it stayed connected.
	if found && current == req.Name || valid && req.Session != "" && sameSecret(req.Session, sess.ID) {
		return b.bindSession(ctx, c, req.Name, sess.ID, wantsOf(req.Subscribe, req.KeepsKeys, req.Holder), true)
	}
	if err := b.inUse(req.Name); err != nil {
		return nil, err
	}
	if valid {
		return nil, b.nameTaken(req.Name, fmt.Sprintf(
			"is held by a session that is valid until %s although nobody is connected as it; "+
				"if it is yours, register from the data folder that registered it (its token is kept there) or pass that token",
			sess.Expires.UTC().Format(time.RFC3339)))
	}
	// A new session ends the forward of a name that was renamed away. A
	// client that only meant to act as the name (not to take it back) asks
	// to be told instead.
	to, err := b.store.Resolve(req.Name)
	if err != nil {
		return nil, err
	}
	if to != req.Name && req.KeepForward {
		e := ipcmesh.Errorf(ipcmesh.CodeRenamed,
			"%q was renamed to %q, and mail to %s is forwarded there: act as %s, or register %s again on purpose, which ends the forward",
			req.Name, to, req.Name, to, req.Name)
		e.Suggestions = []string{to}
		return nil, e
	}
	sid := req.Session
	if sid == "" {
		if sid, err = auth.NewSessionID(); err != nil {
			return nil, err
		}
	}
	s, err := b.bindSession(ctx, c, req.Name, sid, wantsOf(req.Subscribe, req.KeepsKeys, req.Holder), false)
	if err == nil && to != req.Name {
		s.EndedForward = to
	}
	return s, err
}

// resume binds the connection to the name its token was issued for.
func (b *Broker) resume(c *conn, _ string, body json.RawMessage) (any, error) {
	var req ResumeRequest
	if err := decode(OpResume, body, &req); err != nil {
		return nil, err
	}
	if req.Token == "" {
		return nil, ipcmesh.Errorf(ipcmesh.CodeBadRequest, "resume needs the token that register returned")
	}
	if err := b.allowRegister(c); err != nil {
		return nil, err
	}
	tok, err := b.cfg.Keys.ParseToken(req.Token)
	if err != nil {
		return nil, err
	}
	ctx, cancel := b.decideCtx(c)
	defer cancel()
	b.names.Lock()
	defer b.names.Unlock()
	now := b.cfg.Now()
	sess, found, err := b.store.Session(tok.Name)
	if err != nil {
		return nil, err
	}
	if found && sameSecret(sess.ID, tok.SessionID) && now.Before(sess.Expires) && !tok.Expired(now) {
		return b.bindSession(ctx, c, tok.Name, sess.ID, wantsOf(req.Subscribe, req.KeepsKeys, req.Holder), true)
	}
	// A rename that committed just before the broker was lost revokes the
	// token its own client holds; that token, of the session renamed, and
	// the rename's request id, known only to that client, let it pick up
	// the new name. The token must be one that client could still resume
	// with: its session is gone, but an expired token claims nothing, here
	// as anywhere.
	if req.RenameRequest != "" && !tok.Expired(now) {
		rr, done, err := b.store.RenameDone(req.RenameRequest)
		if err != nil {
			return nil, err
		}
		if done && rr.Old == tok.Name {
			// A record from before renames kept the old session's id
			// cannot tell the session renamed from another of the same
			// name: until it is forgotten, the request id alone proves
			// the claim.
			if rr.OldSessionKept && (rr.OldSessionID == "" || !sameSecret(tok.SessionID, rr.OldSessionID)) {
				return nil, ipcmesh.Errorf(ipcmesh.CodeUnauthorized,
					"this token for %q is of another session than the one the rename moved (the name was registered anew in between): only the token held when the rename was sent picks up %q; register again",
					tok.Name, rr.New)
			}
			if s, ok, _ := b.store.Session(rr.New); ok && sameSecret(s.ID, rr.SessionID) && now.Before(s.Expires) {
				return b.bindSession(ctx, c, rr.New, rr.SessionID, wantsOf(req.Subscribe, req.KeepsKeys, req.Holder), true)
			}
		}
	}
	switch {
	case !found:
		return nil, ipcmesh.Errorf(ipcmesh.CodeUnauthorized, "no session exists for %q any more (it was renamed, unregistered or expired): register again", tok.Name)
	case !sameSecret(sess.ID, tok.SessionID):
		return nil, ipcmesh.Errorf(ipcmesh.CodeUnauthorized, "this token for %q was revoked (the name was renamed or registered anew): register again", tok.Name)
	default:
		return nil, ipcmesh.Errorf(ipcmesh.CodeUnauthorized, "the session for %q expired: register again", tok.Name)
	}
}

// rename moves the connection's instance to a new name: its unread mail
// moves along, mail to the old name is forwarded for a while, the old token
// stops working and a new one is issued, and everyone else is told.
func (b *Broker) rename(c *conn, name string, body json.RawMessage) (any, error) {
	var req RenameRequest
	if err := decode(OpRename, body, &req); err != nil {
		return nil, err
	}
	if err := ValidateID("request_id", req.RequestID); err != nil {
		return nil, err
	}
	if err := b.newName(req.NewName); err != nil {
		return nil, err
	}
	ctx, cancel := b.decideCtx(c)
	defer cancel()
	b.names.Lock()
	defer b.names.Unlock()
	// A retry of a rename that is done gets its session, whatever name
	// the connection acted as when the retry was read: a client that gave
	// up waiting tries again, and the first try may still have been under
	// way then, the connection acting as the old name.
	if rr, done, err := b.store.RenameDone(req.RequestID); err != nil {
		return nil, err
	} else if done {
		now := b.presence.nameOf(c)
		if now == "" {
			return nil, b.stillActsAs(c, OpRename, name) // says the session ended
		}
		if rr.New != now || rr.New != req.NewName {
			return nil, ipcmesh.Errorf(ipcmesh.CodeConflict, "request id %q was already used for another rename: use a fresh id", req.RequestID)
		}
		return b.session(rr.New, rr.SessionID, rr.Expires, true)
	}
	if err := b.stillActsAs(c, OpRename, name); err != nil {
		return nil, err
	}
	now := b.cfg.Now()
	if req.NewName == name {
		return nil, ipcmesh.Errorf(ipcmesh.CodeBadRequest, "this instance is already named %q", name)
	}
	if err := b.inUse(req.NewName); err != nil {
		return nil, err
	}
	if s, ok, err := b.store.Session(req.NewName); err != nil {
		return nil, err
	} else if ok && b.live(s, now) {
		// Said as register says it, with what to do: an instance that
		// went offline keeps its name for a day, and "not expired" told
		// a model neither that nor how to get the name.
		return nil, b.nameTaken(req.NewName, fmt.Sprintf(
			"is held by a session that is valid until %s although nobody is connected as it, and a rename takes no other session's name; "+
				"if it is yours, register as it instead (from the data folder that registered it), which resumes it with its own mail",
			s.Expires.UTC().Format(time.RFC3339)))
	}
	// A forward from the new name ends with the rename (store.Rename):
	// whoever was renamed away from it no longer gets its mail, and the
	// answer says so, as register's does. Renaming back ends the caller's
	// own forward, which is no news.
	forwardedTo, err := b.store.Resolve(req.NewName)
	if err != nil {
		return nil, err
	}
	sid, err := auth.NewSessionID()
	if err != nil {
		return nil, err
	}
	exp := b.expiry(now)
	if err := b.claim(ctx, req.NewName); err != nil {
		return nil, err
	}
	rr, err := b.store.Rename(ctx, name, store.Session{Name: req.NewName, ID: sid, Expires: exp, Secret: b.tag}, req.RequestID)
	if err != nil {
		b.release(req.NewName)
		return nil, err
	}
	b.presence.move(name, req.NewName)
	b.release(name)
	b.presence.notify(name)
	b.presence.notify(req.NewName)
	for _, sub := range b.presence.allSubscribers() {
		sub.event(EventRenamed, RenamedEvent{Old: name, New: req.NewName})
	}
	b.log.Info("renamed", "old", name, "new", req.NewName, "moved", rr.Moved)
	sess, err := b.session(req.NewName, rr.SessionID, rr.Expires, false)
	if err == nil && forwardedTo != req.NewName && forwardedTo != name {
		sess.EndedForward = forwardedTo
	}
	return sess, err
}

// unregister ends the session: the name is free again, its mail stays.
func (b *Broker) unregister(c *conn, name string, _ json.RawMessage) (any, error) {
	ctx, cancel := b.decideCtx(c)
	defer cancel()
	b.names.Lock()
	defer b.names.Unlock()
	if err := b.stillActsAs(c, OpUnregister, name); err != nil {
		return nil, err
	}
	if err := b.store.RevokeSession(ctx, name); err != nil {
		return nil, err
	}
	// Unbound, a connection hears nothing more: tell the subscribed ones,
	// or a process serving the name on one (an HTTP face) would go on
	// acting for a name it no longer holds.
	subs := b.presence.subscribers(name)
	b.presence.unbindAll(name)
	b.release(name)
	b.presence.notify(name) // waiting checks end now, not when their time is up
	for _, sub := range subs {
		sub.event(EventUnregistered, UnregisteredEvent{Name: name})
	}
	return struct{}{}, nil
}

// stillActsAs refuses an op that decides about name, the connection's name
// when its request was read, if the connection no longer acts as it. In
// between, another connection of the same session may have unregistered
// the name or renamed it away, and another instance may have registered it
// since: the op would end, move or join that instance's session. It is
// called with b.names held, under which no connection with a request in
// flight changes its name.
func (b *Broker) stillActsAs(c *conn, op, name string) error {
	switch now := b.presence.nameOf(c); now {
	case name:
		return nil
	case "":
		return ipcmesh.Errorf(ipcmesh.CodeNotRegistered,
			"%s was not done: this connection stopped acting as %q before it ran (the session was unregistered on another connection): register or resume first",
			op, name)
	default:
		return ipcmesh.Errorf(ipcmesh.CodeNotRegistered,
			"%s was not done: this connection acts as %q now, not %q (it was renamed on another connection before the %s ran): send it again if it is still meant for %q",
			op, now, name, op, now)
	}
}

func (b *Broker) allowRegister(c *conn) error {
	if ok, retry := b.regs.Allow(c.id); !ok {
		return ipcmesh.RateLimited("too many register or resume attempts on this connection", retry)
	}
	return nil
}

// bindSession renews or creates the session sid for name, makes the
// connection act as name, and returns a fresh token. Renewing on every
// resume is what keeps a session in use from expiring.
func (b *Broker) bindSession(ctx context.Context, c *conn, name, sid string, w wants, resumed bool) (*Session, error) {
	now := b.cfg.Now()
	exp := b.expiry(now)
	if err := b.claim(ctx, name); err != nil {
		return nil, err
	}
	if err := b.store.PutSession(ctx, store.Session{Name: name, ID: sid, Expires: exp, Secret: b.tag}); err != nil {
		b.release(name)
		return nil, err
	}
	old := b.presence.nameOf(c)
	b.presence.bind(c, name, w, now)
	if old != "" && old != name {
		b.release(old) // the connection acted as old until now
	}
	return b.session(name, sid, exp, resumed)
}

// expiry is when a session made or renewed at now ends. A token carries it
// in whole seconds: it is rounded up, so that the token and the session's
// record agree and both last the whole TTL. Rounded down, a token could
// expire before the peer's first renewal (at a quarter of the TTL) when
// the TTL is short.
func (b *Broker) expiry(now time.Time) time.Time {
	exp := now.Add(b.cfg.SessionTTL)
	if t := exp.Truncate(time.Second); !t.Equal(exp) {
		return t.Add(time.Second)
	}
	return exp
}

func (b *Broker) session(name, sid string, exp time.Time, resumed bool) (*Session, error) {
	unread, err := b.store.UnreadCount(name)
	if err != nil {
		return nil, err
	}
	return &Session{
		Name:    name,
		Token:   b.cfg.Keys.SignToken(auth.Token{Name: name, SessionID: sid, Expires: exp}),
		Expires: exp.UTC(),
		Resumed: resumed,
		Unread:  unread,
	}, nil
}

// live reports whether s still holds its name at now: it has not expired,
// and it was made under the mesh's secret as it is now. Changing the secret
// ends every session with every token (SECURITY.md 3.8): a session made
// under the old one must not keep its name for the rest of its day, when
// no token of it can be used and nothing could register the name again.
// A session recorded before sessions kept the tag of their secret is
// judged by its expiry alone.
func (b *Broker) live(s store.Session, now time.Time) bool {
	return now.Before(s.Expires) && (s.Secret == "" || s.Secret == b.tag)
}

// sameSecret compares session ids in constant time: a session id is as good
// as a password for its name.
func sameSecret(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// nameTaken builds a name_taken error with free names to pick instead.
func (b *Broker) nameTaken(name, why string) error {
	now := b.cfg.Now()
	taken := func(n string) bool {
		if b.online(n) {
			return true
		}
		s, ok, err := b.store.Session(n)
		return err != nil || ok && b.live(s, now)
	}
	free := ipcmesh.FreeVariants(name, taken, 3)
	msg := fmt.Sprintf("name %q %s", name, why)
	if len(free) > 0 {
		msg += "; free names: " + strings.Join(free, ", ")
	}
	return &ipcmesh.Error{Code: ipcmesh.CodeNameTaken, Message: msg, Suggestions: free}
}
