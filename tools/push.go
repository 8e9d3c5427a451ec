package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/human"
	"github.com/ipcmesh/ipcmesh/internal/untrusted"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/ipc"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Push: the broker pushes each message for this instance's name to the
// peer (Config.OnEvent); the server passes it on to the assistant in two
// ways, because an idle assistant is only woken by something it listens to:
//
//   - notifications/claude/channel, which Claude Code turns into a message
//     in the running session (when the server declares the experimental
//     capability claude/channel);
//   - notifications/resources/updated for ipc://inbox, for any client that
//     subscribed to the inbox resource.
//
// A push is a hint, not a read: the message stays unread until check
// returns it, so a push that is lost (client not listening, queue full,
// process killed) loses nothing.
const (
	channelCapability   = "claude/channel"
	channelNotification = "notifications/claude/channel"
	// pushQueue bounds the messages waiting to be pushed. Beyond it pushes
	// are dropped, never mail.
	pushQueue = 256
)

// channelParams are the params of notifications/claude/channel.
type channelParams struct {
	Content string            `json:"content"`
	Meta    map[string]string `json:"meta"`
}

// onEvent receives the broker's pushed events from the peer. It runs on the
// connection's read loop, so it only queues.
func (s *Server) onEvent(ev ipc.Event) {
	switch ev.Name {
	case ipc.EventMessage:
		var m ipcmesh.Message
		if err := json.Unmarshal(ev.Body, &m); err != nil {
			s.log.Warn("undecodable pushed message", "err", err)
			return
		}
		select {
		case s.queue <- m:
		default:
			s.log.Warn("push queue full; the message stays unread for check", "id", m.ID, "from", m.From)
		}
	case ipc.EventRenamed:
		var r ipc.RenamedEvent
		if json.Unmarshal(ev.Body, &r) == nil {
			s.log.Debug("instance renamed", "old", r.Old, "new", r.New)
		}
	}
}

// pushLoop passes queued messages on to the client until ctx is done.
func (s *Server) pushLoop(ctx context.Context, ss *mcp.ServerSession) {
	for {
		select {
		case <-ctx.Done():
			return
		case m := <-s.queue:
			s.push(ctx, ss, m)
		}
	}
}

// push tells the client about one new message.
func (s *Server) push(ctx context.Context, ss *mcp.ServerSession, m ipcmesh.Message) {
	// Before the handshake the client cannot take notifications; the
	// message waits in the inbox all the same.
	if ss.InitializeParams() != nil {
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := s.out.notify(wctx, channelNotification, s.channelMessage(m))
		cancel()
		if err != nil {
			s.log.Warn("push a channel notification", "id", m.ID, "err", err)
		}
	}
	s.inboxChanged(ctx)
}

// channelMessage is the notification for m: its text as the content, and
// as meta (all strings, as Claude Code requires) who sent it, its id, its
// type ("broadcast" for a broadcast, else the message type, "message" by
// default), and when set the channel it was posted to, the message it
// answers with its thread, and the shared key it points at.
func (s *Server) channelMessage(m ipcmesh.Message) channelParams {
	kind := ipcmesh.TypeMessage
	switch {
	case m.Broadcast:
		kind = "broadcast"
	case m.Type != "":
		kind = m.Type
	}
	// The client frames the content with the sender from meta; what
	// could act on its terminal is shown, not obeyed.
	content := untrusted.Text(m.Content)
	if m.Large {
		content += fmt.Sprintf("\n\n(large message, %s: %s)", human.Size(m.Size), s.wholeText(m))
	}
	meta := map[string]string{"from": m.From, "id": m.ID, "type": kind}
	if m.Channel != "" {
		meta["channel"] = m.Channel
	}
	if m.ReplyTo != "" {
		meta["reply_to"] = m.ReplyTo
		meta["thread"] = m.Thread
	}
	if m.Shared != "" {
		meta["shared"] = m.Shared
	}
	return channelParams{Content: content, Meta: meta}
}

// inboxChanged tells subscribers of ipc://inbox that it changed.
func (s *Server) inboxChanged(ctx context.Context) {
	if err := s.mcp.ResourceUpdated(ctx, &mcp.ResourceUpdatedNotificationParams{URI: inboxURI}); err != nil {
		s.log.Warn("notify inbox subscribers", "err", err)
	}
}

// notifyingTransport is the server's transport, wrapped so the server can
// write notifications the SDK has no call for (go-sdk v1.8 sends only the
// notifications of the MCP spec). It hands the SDK the inner connection
// unchanged, so the SDK's own view of it (session state, batching) is
// intact, and writes a custom notification to that connection directly:
// Connection.Write is safe for concurrent use and writes whole messages.
type notifyingTransport struct {
	mcp.Transport

	mu   sync.Mutex
	conn mcp.Connection
}

// Connect implements mcp.Transport.
func (t *notifyingTransport) Connect(ctx context.Context) (mcp.Connection, error) {
	c, err := t.Transport.Connect(ctx)
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	t.conn = c
	t.mu.Unlock()
	return c, nil
}

// SupportsProtocolVersion implements mcp.ProtocolVersionSupporter for the
// inner transport, so wrapping it does not widen what it claims to serve.
func (t *notifyingTransport) SupportsProtocolVersion(v string) bool {
	if pv, ok := t.Transport.(mcp.ProtocolVersionSupporter); ok {
		return pv.SupportsProtocolVersion(v)
	}
	return true
}

// notify writes the JSON-RPC notification method(params) to the client.
func (t *notifyingTransport) notify(ctx context.Context, method string, params any) error {
	t.mu.Lock()
	c := t.conn
	t.mu.Unlock()
	if c == nil {
		return fmt.Errorf("%s: not connected", method)
	}
	raw, err := json.Marshal(params)
	if err != nil {
		return fmt.Errorf("encode %s: %w", method, err)
	}
	return c.Write(ctx, &jsonrpc.Request{Method: method, Params: raw})
}
