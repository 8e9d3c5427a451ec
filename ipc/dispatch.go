package ipc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/ipcmesh/ipcmesh"
)

// errNoReply tells the connection not to answer: the request was cut short
// by a shutdown and its client will send it again to the next broker.
var errNoReply = errors.New("no reply")

// handler serves one op. name is the connection's identity ("" if it has
// none yet) when the request was read; ops that need one are declared with
// needsName. Another connection may change it before the op runs: the ops
// that decide who holds a name check it again under b.names (see
// Broker.stillActsAs).
type handler struct {
	needsName bool
	serve     func(b *Broker, c *conn, name string, body json.RawMessage) (any, error)
}

// waiter serves an op that may wait for mail or a reply, which needs a
// name, with the context its wait ends with: the connection's, or its
// client's cancel of this request.
type waiter func(b *Broker, ctx context.Context, c *conn, name string, body json.RawMessage) (any, error)

var waiters = map[string]waiter{
	OpCheck:     (*Broker).check,
	OpWaitReply: (*Broker).waitReply,
}

var handlers = map[string]handler{
	OpRegister:   {false, (*Broker).register},
	OpResume:     {false, (*Broker).resume},
	OpSend:       {true, (*Broker).send},
	OpBroadcast:  {true, (*Broker).broadcast},
	OpAck:        {true, (*Broker).ack},
	OpFetch:      {true, (*Broker).fetch},
	OpList:       {false, (*Broker).list},
	OpRename:     {true, (*Broker).rename},
	OpUnregister: {true, (*Broker).unregister},
	OpStatus:     {false, (*Broker).status},
	OpBackup:     {false, (*Broker).backup},
	OpCancel:     {false, (*Broker).cancel},

	OpChannelCreate: {true, (*Broker).channelCreate},
	OpChannelList:   {true, (*Broker).channelList},
	OpChannelJoin:   {true, (*Broker).channelJoin},
	OpChannelLeave:  {true, (*Broker).channelLeave},
	OpHistory:       {true, (*Broker).history},
	OpShare:         {true, (*Broker).share},
	OpGetShared:     {true, (*Broker).getShared},
	OpListShared:    {true, (*Broker).listShared},
	OpSearch:        {true, (*Broker).search},
	OpSetStatus:     {true, (*Broker).setStatus},

	OpKeyCreate: {false, (*Broker).keyCreate},
	OpKeyCheck:  {false, (*Broker).keyCheck},
	OpKeyRevoke: {false, (*Broker).keyRevoke},
	OpKeyList:   {false, (*Broker).keyList},
	OpKeySeen:   {true, (*Broker).keySeen},

	OpStop: {false, (*Broker).stop},
}

func (b *Broker) dispatch(c *conn, f *Frame) (any, error) {
	h, ok := handlers[f.Op]
	wait := waiters[f.Op]
	if !ok && wait == nil {
		return nil, ipcmesh.Errorf(ipcmesh.CodeUnknownOp, "unknown op %q: this broker speaks protocol version %d (see docs/PROTOCOL.md)", truncate(f.Op, 40), Version)
	}
	name := b.presence.nameOf(c)
	key := name
	if key == "" {
		key = c.id
	}
	if ok, retry := b.ops.Allow(key); !ok {
		return nil, ipcmesh.RateLimited(fmt.Sprintf("rate limited: more than %.0f requests a second", b.cfg.Limits.OpsPerSecond), retry)
	}
	if (h.needsName || wait != nil) && name == "" {
		return nil, ipcmesh.Errorf(ipcmesh.CodeNotRegistered, "%s needs a registered name, and this connection has none: register or resume first", f.Op)
	}
	if name != "" {
		b.presence.markSeen(name, b.cfg.Now())
	}
	if wait != nil {
		return wait(b, c.waitContext(f), c, name, f.Body)
	}
	return h.serve(b, c, name, f.Body)
}

// decode parses a request body into v. Unknown fields are ignored so that
// newer clients can talk to older brokers; missing ones are checked by each
// handler, which knows what "missing" means for it.
//
// A body that is not UTF-8 is refused: encoding/json would take each bad
// byte as U+FFFD, so content sent as raw bytes (Latin-1 text, a binary
// file) would be stored changed while its sender heard "ok". The other
// faces (the command line, the HTTP face) refuse it the same way.
func decode(op string, body json.RawMessage, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	if !utf8.Valid(body) {
		at := ipcmesh.NotUTF8(string(body))
		return ipcmesh.Errorf(ipcmesh.CodeBadRequest, "%s: body is not UTF-8 (byte %d is 0x%02X), and JSON is UTF-8: send text as UTF-8, and binary data as base64 (see docs/PROTOCOL.md)", op, at+1, body[at])
	}
	if err := json.Unmarshal(body, v); err != nil {
		return ipcmesh.Errorf(ipcmesh.CodeBadRequest, "%s: body is not valid: %v (see docs/PROTOCOL.md)", op, err)
	}
	return nil
}

// ValidateID checks a client-made message or request id: 8 to 64 of
// [A-Za-z0-9_-]. The form leaves '.' free for the broker's own suffixes.
func ValidateID(what, id string) error {
	if len(id) < 8 || len(id) > 64 {
		return ipcmesh.Errorf(ipcmesh.CodeBadRequest, "%s %q must be 8 to 64 characters: make one of 32 random hex digits, as ipc.NewID does", what, truncate(id, 70))
	}
	for i := 0; i < len(id); i++ {
		ch := id[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '_' || ch == '-') {
			// The character, not its first byte: a byte of a longer
			// character quoted alone reads as another letter ('â' for
			// the first of U+202E), which names nothing the sender wrote.
			r, _ := utf8.DecodeRuneInString(id[i:])
			which := ""
			if r >= utf8.RuneSelf {
				which = fmt.Sprintf(" (U+%04X, which is not ASCII)", r)
			}
			return ipcmesh.Errorf(ipcmesh.CodeBadRequest, "%s %q has %q%s: use only letters, digits, '_' or '-'", what, truncate(id, 70), r, which)
		}
	}
	return nil
}

// truncate cuts s to about n bytes, never in the middle of a character,
// so that what is quoted is text the sender wrote.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}
