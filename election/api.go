package election

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"path/filepath"
	"time"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/ipc"
	"github.com/ipcmesh/ipcmesh/store"
)

// Name returns the name this peer acts as, "" before Register or Resume.
func (p *Peer) Name() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sess.name
}

// Register claims name for this peer and keeps its token in the data
// folder, whose default name it becomes (unless Config.KeepCurrent).
// Registering a name this data folder already holds a live session for
// resumes that session instead, so the same user on the same machine picks
// up where they left off. A name renamed away is taken back, which ends its
// forward; the Session's EndedForward says where the forward led.
func (p *Peer) Register(ctx context.Context, name string) (ipc.Session, error) {
	return p.register(ctx, name, false)
}

// Claim registers name only to act as it, for a name chosen for one
// command (--as, IPC_NAME) rather than taken on purpose: the data folder's
// default name stays as it is, and a name renamed away is refused with
// ipcmesh.CodeRenamed (naming its new name) instead of taken back.
func (p *Peer) Claim(ctx context.Context, name string) (ipc.Session, error) {
	return p.register(ctx, name, true)
}

func (p *Peer) register(ctx context.Context, name string, claim bool) (ipc.Session, error) {
	if err := ipcmesh.ValidateName(name); err != nil {
		return ipc.Session{}, err
	}
	if _, pending := p.keyring.RenameTo(name); pending && !claim {
		// A rename to name that got no answer may have been carried
		// out: its session, which no token here holds yet, is this
		// folder's, and registering would find the name taken.
		if s, err := p.Resume(ctx, name); err == nil && s.Name == name {
			return s, p.adopt(s, !p.cfg.KeepCurrent)
		}
	}
	// The session id works like a password (PROTOCOL.md, register): all
	// of it random, unlike a message id, which starts with the time. It
	// is kept in the data folder until the token is: a register retried
	// from here resumes the session of one that reached the broker and
	// lost its token, whatever stopped it (PROTOCOL.md's retries).
	sid, kept, err := p.keyring.RegisterSession(name)
	if err != nil {
		return ipc.Session{}, err
	}
	// The token is read after: a register racing here keeps its token
	// before it drops its session id, so one of the two is found.
	tok, loadErr := p.keyring.Load(name)
	var s ipc.Session
	req := ipc.RegisterRequest{Name: name, Token: tok, Session: sid, Subscribe: p.cfg.Subscribe, KeepForward: claim, KeepsKeys: p.cfg.KeepsKeys, Holder: p.cfg.Holder}
	if err := p.Call(ctx, ipc.OpRegister, req, &s); err != nil {
		return s, p.unreadableToken(err, name, tok, loadErr)
	}
	if err := p.adopt(s, !claim && !p.cfg.KeepCurrent); err != nil {
		if !kept && !s.Resumed {
			// Nothing here can resume the session: free the name now.
			err = p.letGo(ctx, s.Name, err)
		} else if !s.Resumed {
			err = fmt.Errorf("%w; a register of %s from this data folder resumes its session", err, s.Name)
		}
		return s, err
	}
	p.keyring.DropRegister(name)
	return s, nil
}

// unreadableToken explains a register refused with name_taken when the
// token this data folder keeps for name cannot be read with the mesh's
// keys, or its file holds no token at all (loadErr, which is not
// fs.ErrNotExist then): the file was damaged. The broker's answer tells
// the user to register from the folder that holds the token, which is
// this one, and the token's own error to register again, which is what
// was refused.
func (p *Peer) unreadableToken(err error, name, tok string, loadErr error) error {
	var taken *ipcmesh.Error
	if !errors.As(err, &taken) || taken.Code != ipcmesh.CodeNameTaken {
		return err
	}
	switch {
	case loadErr != nil && !errors.Is(loadErr, fs.ErrNotExist):
	case tok == "":
		return err
	default:
		if _, perr := p.cfg.Keys.ParseToken(tok); perr == nil {
			return err
		}
	}
	e := *taken
	e.Message += fmt.Sprintf(". The session token this data folder keeps for %s cannot be read (its file in %s is damaged), "+
		"so nothing here can resume that session: %s is free again once the session expires; act as another name until then",
		name, filepath.Join(p.cfg.DataDir, "sessions"), name)
	return &e
}

// letGo ends the session a register just made, whose token could not be
// kept. Left alive, it would hold the name for a whole session lifetime
// with no token anywhere to resume it by: every retry from this folder
// would get name_taken. cause is why the token was not kept.
func (p *Peer) letGo(ctx context.Context, name string, cause error) error {
	err := p.Call(ctx, ipc.OpUnregister, nil, nil)
	p.mu.Lock()
	p.sess = sessionState{}
	p.mu.Unlock()
	if err != nil {
		return fmt.Errorf("%w; letting %s go again failed too (%v), so it stays taken until its session expires", cause, name, err)
	}
	return fmt.Errorf("%w; %s was let go again, so a retry can claim it", cause, name)
}

// DefaultName is the data folder's default name: the one registered last
// from it, which commands act as when no name is chosen; "" if there is
// none.
func (p *Peer) DefaultName() string {
	name, err := p.keyring.Current()
	if err != nil {
		return ""
	}
	return name
}

// Resume acts as name with the token kept in the data folder; an empty name
// means the name registered last from this data folder. A rename of name,
// or to name, that got no answer and is kept in the folder (Rename) is
// picked up: if the broker carried it out, the peer acts as the new name
// from then on, and RenamedFrom names the old one.
func (p *Peer) Resume(ctx context.Context, name string) (ipc.Session, error) {
	var err error
	if name == "" {
		if name, err = p.keyring.Current(); errors.Is(err, fs.ErrNotExist) {
			return ipc.Session{}, ipcmesh.Errorf(ipcmesh.CodeNotRegistered,
				"the data folder %s has no default name (none was registered from it, or the one registered last was unregistered): register one (ipcmesh register NAME) or pick one with --as NAME or IPC_NAME", p.cfg.DataDir)
		} else if err != nil {
			// The file is there and holds no name: its error names it.
			return ipc.Session{}, ipcmesh.Errorf(ipcmesh.CodeNotRegistered,
				"%v: register the default name again (ipcmesh register NAME), which writes the file anew, or pick a name with --as NAME or IPC_NAME", err)
		}
	}
	if err := ipcmesh.ValidateName(name); err != nil {
		return ipc.Session{}, err
	}
	tok, err := p.keyring.Load(name)
	pending, renaming := p.keyring.RenameOf(name)
	if err != nil {
		// No token for name: it may be the new name of a rename that got
		// no answer, whose session the old name's token picks up.
		if pending, renaming = p.keyring.RenameTo(name); renaming {
			tok, err = p.keyring.Load(pending.Old)
		}
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		// The file is there and holds no token: its error names it.
		return ipc.Session{}, ipcmesh.Errorf(ipcmesh.CodeNotRegistered, "%v", err)
	}
	if err != nil {
		return ipc.Session{}, ipcmesh.Errorf(ipcmesh.CodeNotRegistered,
			"this data folder holds no session for %q: register it first (ipcmesh register %s)", name, name)
	}
	req := ipc.ResumeRequest{Token: tok, Subscribe: p.cfg.Subscribe, KeepsKeys: p.cfg.KeepsKeys, Holder: p.cfg.Holder}
	if renaming {
		req.RenameRequest = pending.RequestID
	}
	var s ipc.Session
	if err := p.Call(ctx, ipc.OpResume, req, &s); err != nil {
		return s, err
	}
	if !renaming {
		return s, p.adopt(s, false)
	}
	return s, p.resumedRenaming(name, pending, s)
}

// adopt makes s the peer's session and keeps its token. With current, the
// name also becomes the data folder's current name, the one commands act
// as when none is chosen: only a name registered on purpose, or the
// current name renamed, moves it. A session resumed, renewed or claimed
// for one command leaves it alone, so several assistants and terminals
// sharing a folder do not keep changing who "the last one" is.
//
// A session resumed or renewed does not need its new token kept as long as
// the token the folder keeps is of the same session and unexpired: later
// commands resume with that one meanwhile. So when the folder cannot take
// the new token (a full disk), adopt only warns, rather than stop every
// command before it reaches the broker. Otherwise the error names the
// folder and says what to do.
func (p *Peer) adopt(s ipc.Session, current bool) error {
	p.mu.Lock()
	p.sess = sessionState{name: s.Name, token: s.Token}
	p.mu.Unlock()
	keep := p.keyring.Keep
	if current {
		keep = p.keyring.Save
	}
	err := keep(s.Name, s.Token)
	if err == nil {
		return nil
	}
	if !current {
		if until, ok := p.keptTokenWorks(s); ok {
			p.log.Warn("could not keep the renewed session token; commands from this data folder resume with the one kept before until it expires",
				"name", s.Name, "expires", until.UTC().Format(time.RFC3339), "data_dir", p.cfg.DataDir, "err", err)
			return nil
		}
	}
	fix := "free some space there (or make it writable)"
	if store.Unwritable(err) {
		// Said first, room would send the user to the wrong fix.
		fix = "make it writable"
	}
	return fmt.Errorf("keep the session token for %s in the data folder %s: %w: %s and try again", s.Name, p.cfg.DataDir, err, fix)
}

// keptTokenWorks reports whether the token the data folder keeps for s's
// name is a token of s's session that has not expired, and until when it
// lasts.
func (p *Peer) keptTokenWorks(s ipc.Session) (time.Time, bool) {
	kept, err := p.keyring.Load(s.Name)
	if err != nil {
		return time.Time{}, false
	}
	old, err := p.cfg.Keys.ParseToken(kept)
	if err != nil {
		return time.Time{}, false
	}
	cur, err := p.cfg.Keys.ParseToken(s.Token)
	if err != nil || old.Name != s.Name || old.SessionID != cur.SessionID || old.Expired(time.Now()) {
		return time.Time{}, false
	}
	return old.Expires, true
}

// resumeOn resumes the peer's session, if it has one, on a new connection.
func (p *Peer) resumeOn(ctx context.Context, c *ipc.Client) error {
	p.mu.Lock()
	st := p.sess
	p.mu.Unlock()
	if st.token == "" {
		return nil
	}
	// Bounded as every call is: a broker that answers the handshake and
	// then hangs would otherwise hold the reconnect, and every caller
	// waiting for it, for ever.
	req := ipc.ResumeRequest{Token: st.token, RenameRequest: st.pendingRename, Subscribe: p.cfg.Subscribe, KeepsKeys: p.cfg.KeepsKeys, Holder: p.cfg.Holder}
	var s ipc.Session
	err := p.callOn(ctx, c, dueIn(ipc.OpResume, req, p.cfg.AnswerTimeout), ipc.OpResume, req, &s)
	if err == nil && st.name != "" && s.Name != st.name {
		// The rename that got no answer was carried out: the new name is
		// this peer's from now on, as if the rename had been answered.
		return p.pickUp(st.name, s)
	}
	if ipcmesh.CodeOf(err) == ipcmesh.CodeUnauthorized {
		// The session is gone (expired or revoked elsewhere): calls that need
		// a name will say so; the connection itself is fine.
		p.log.Warn("session could not be resumed", "name", st.name, "err", err)
		p.mu.Lock()
		p.sess = sessionState{}
		p.mu.Unlock()
		return nil
	}
	if err != nil {
		return err
	}
	return p.adopt(s, false)
}

// Send sends content to to: an instance name or a "#channel". It is
// SendMessage with only a recipient and content.
func (p *Peer) Send(ctx context.Context, to, content string) (ipc.SendResult, error) {
	return p.SendMessage(ctx, ipc.SendRequest{Outgoing: ipc.Outgoing{To: to, Content: content}})
}

// SendMessage sends m: to an instance or a "#channel", with a type, the id
// of the message it replies to and a shared key, as m says. The message id
// is made here, once, when m has none, so a retry after a failover cannot
// store it twice.
func (p *Peer) SendMessage(ctx context.Context, m ipc.SendRequest) (ipc.SendResult, error) {
	var r ipc.SendResult
	err := p.sendMessage(ctx, m, &r)
	return r, err
}

// SendMessageJSON is SendMessage for a caller that hands the result on as
// JSON, as the HTTP face does: the broker's answer, an ipc.SendResult, is
// returned as the broker wrote it, not decoded into one only to be
// encoded again.
func (p *Peer) SendMessageJSON(ctx context.Context, m ipc.SendRequest) (json.RawMessage, error) {
	var r json.RawMessage
	err := p.sendMessage(ctx, m, &r)
	return r, err
}

func (p *Peer) sendMessage(ctx context.Context, m ipc.SendRequest, out any) error {
	if err := p.fits("the message", m.Content, largeAdvice, "Nothing was sent"); err != nil {
		return err
	}
	if m.ID == "" {
		m.ID = ipc.NewID()
	}
	resent, err := p.call(ctx, ipc.OpSend, m, out)
	if err == nil && resent {
		err = notTwice(m, out)
	}
	return err
}

// Broadcast sends content to every registered instance but this one.
func (p *Peer) Broadcast(ctx context.Context, content string) (ipc.BroadcastResult, error) {
	return p.BroadcastMessage(ctx, ipc.BroadcastRequest{Content: content})
}

// BroadcastMessage is Broadcast with the id m gives, if any: a broadcast
// sent again with the same id reaches nobody twice.
func (p *Peer) BroadcastMessage(ctx context.Context, m ipc.BroadcastRequest) (ipc.BroadcastResult, error) {
	if err := p.fits("the broadcast", m.Content, largeAdvice, "Nothing was sent"); err != nil {
		return ipc.BroadcastResult{}, err
	}
	if m.ID == "" {
		m.ID = ipc.NewID()
	}
	var r ipc.BroadcastResult
	resent, err := p.call(ctx, ipc.OpBroadcast, m, &r)
	if err == nil && resent && len(r.Duplicate) > 0 {
		p.broadcastNotTwice(ctx, m, &r)
	}
	return r, err
}

// Check returns unread messages, oldest first, waiting up to wait for one
// if there are none. They stay unread until Ack. Messages this peer has
// acked already (an ack that died with a broker, or that a broker did not
// answer) are acked again quietly rather than shown twice.
func (p *Peer) Check(ctx context.Context, limit int, wait time.Duration) (ipc.CheckResult, error) {
	return p.CheckMail(ctx, ipc.CheckRequest{Limit: limit, WaitMS: wait.Milliseconds()})
}

// CheckMail is Check as req asks: with From, only the direct messages from
// that instance, waiting for its next one. A wait of any length, past the
// broker's ipc.MaxWait too, is asked for in pieces (waitPiece).
func (p *Peer) CheckMail(ctx context.Context, req ipc.CheckRequest) (ipc.CheckResult, error) {
	wait := time.Duration(min(max(req.WaitMS, 0), math.MaxInt64/int64(time.Millisecond))) * time.Millisecond
	deadline := p.now().Add(wait)
	for {
		req.WaitMS = min(max(deadline.Sub(p.now()), 0), p.piece).Milliseconds()
		r, err := p.checkOnce(ctx, req)
		if err != nil || len(r.Messages) > 0 || deadline.Sub(p.now()) < time.Millisecond {
			return r, err
		}
	}
}

// checkOnce asks the broker for what req asks, and acks again what this
// peer has acked already rather than return it.
func (p *Peer) checkOnce(ctx context.Context, req ipc.CheckRequest) (ipc.CheckResult, error) {
	var r ipc.CheckResult
	if err := p.Call(ctx, ipc.OpCheck, req, &r); err != nil {
		return r, err
	}
	fresh := r.Messages[:0]
	var again []string
	for _, m := range r.Messages {
		if p.filters.acked.has(m.ID) {
			again = append(again, m.ID)
		} else {
			fresh = append(fresh, m)
		}
	}
	r.Messages = fresh
	if len(again) > 0 {
		if err := p.Call(ctx, ipc.OpAck, ipc.AckRequest{IDs: again}, nil); err != nil {
			return r, err
		}
	}
	return r, nil
}

// Ack marks messages read. Call it once the messages are safely in the
// reader's hands: until then they stay unread and are delivered again.
// When the broker does not answer it, this peer's later checks ack the
// messages again instead of returning them.
func (p *Peer) Ack(ctx context.Context, ids []string) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	var r ipc.AckResult
	err := p.Call(ctx, ipc.OpAck, ipc.AckRequest{IDs: ids}, &r)
	if err == nil || errors.Is(err, ErrNotAnswering) {
		// An ack the broker did not answer in time may be carried out
		// late or never: a stopped broker holds it, and once resumed runs
		// it beside the checks sent after it, which may read first. The
		// reader has the messages either way, so the next check acks them
		// again rather than hand them over twice. (A caller that stopped
		// waiting may not have them: its ack settles nothing here.)
		for _, id := range ids {
			p.filters.acked.add(id)
		}
	}
	return r.Acked, err
}

// Fetch returns one message with its whole body.
func (p *Peer) Fetch(ctx context.Context, id string) (ipc.FetchResult, error) {
	return p.FetchPart(ctx, id, ipc.Part{})
}

// FetchPart returns one message with the part of its body that part asks
// for: a reader that pages a large body takes a page at a time, not the
// whole body for each page.
func (p *Peer) FetchPart(ctx context.Context, id string, part ipc.Part) (ipc.FetchResult, error) {
	var r ipc.FetchResult
	err := p.Call(ctx, ipc.OpFetch, ipc.FetchRequest{ID: id, Part: part}, &r)
	return r, err
}

// List returns every registered instance with its presence.
func (p *Peer) List(ctx context.Context) ([]ipcmesh.Instance, error) {
	var r ipc.ListResult
	err := p.Call(ctx, ipc.OpList, nil, &r)
	return r.Instances, err
}

// Unregister ends this peer's session and frees its name.
func (p *Peer) Unregister(ctx context.Context) error {
	name := p.Name()
	err := p.Call(ctx, ipc.OpUnregister, nil, nil)
	// not_registered after a failover means the first attempt went through
	// and the session could not be resumed: the outcome asked for.
	if err != nil && (name == "" || ipcmesh.CodeOf(err) != ipcmesh.CodeNotRegistered) {
		return err
	}
	p.mu.Lock()
	p.sess = sessionState{}
	p.mu.Unlock()
	return p.keyring.Remove(name)
}

// Status describes the broker.
func (p *Peer) Status(ctx context.Context) (ipc.StatusResult, error) {
	var r ipc.StatusResult
	err := p.Call(ctx, ipc.OpStatus, nil, &r)
	return r, err
}
