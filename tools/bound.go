package tools

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/election"
	"github.com/ipcmesh/ipcmesh/ipc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// bound is a server made by NewBound, the MCP face of the HTTP face
// (docs/HTTP.md, "MCP over HTTP"): the same tools, acting through a peer
// the HTTP face holds, registered as the name the caller's key is bound
// to. The key decides the name, so register only confirms it and rename
// is refused; the hooks auto_check configures run on the mesh's own
// machine, so it is refused too. The endpoint is stateless, so nothing is
// pushed: the model calls check. peer and name are set once and never
// change.
type bound struct {
	core
	peer *election.Peer
	name string // the bound name: what peer acts as while its session lasts
}

// BoundOptions configure a server made by NewBound.
type BoundOptions struct {
	// Version is reported to clients as the server's version.
	Version string
	// Logger receives the server's logs; nil discards them.
	Logger *slog.Logger
	// LargeMessageBytes is the mesh's large-message threshold
	// (store.Options.LargeMessageBytes, IPC_LARGE_MESSAGE_BYTES), which
	// the send tool's description states; 0 means the store's default.
	LargeMessageBytes int
	// WaitForMail, when set, is how check waits for mail (wait_seconds):
	// it returns what req asks (up to req.Limit unread messages, only
	// req.From's if set), waiting up to wait for one. The HTTP face wakes
	// it with the push its peer receives. Unset, the broker holds the
	// check until mail is stored.
	WaitForMail func(ctx context.Context, req ipc.CheckRequest, wait time.Duration) (ipc.CheckResult, error)
}

// NewBound returns an MCP server that serves the tools, the prompt and the
// inbox resource of New's server (the same definitions) and acts through
// p, which the caller has joined to the mesh and registered as the name a
// key is bound to (p.Name()). The server never registers, renames or closes
// p: the caller owns it. It pushes no mail and declares no subscription,
// as suits a stateless endpoint, and keeps no state of a session: one
// server may serve every request and session for p at once.
//
// Building one is not free (about a millisecond and half a megabyte, most
// of it the SDK checking each tool's schema as it is added), so a caller
// that serves p for many requests should build one and return it from its
// getServer each time, as the SDK's HTTP handlers allow (the HTTP face
// keeps one per name). Yet the HTTP face may build one per request, so
// building one leaves nothing running: NewBound joins nothing, waits for
// nothing and starts no goroutine.
func NewBound(p *election.Peer, opts BoundOptions) *mcp.Server {
	log := orDiscard(opts.Logger)
	b := &bound{peer: p, name: p.Name()}
	b.core = core{log: log, id: b, largeBytes: orStoreDefault(opts.LargeMessageBytes), waitMail: opts.WaitForMail}
	b.mcp = mcp.NewServer(&mcp.Implementation{Name: "ipcmesh", Version: orDevel(opts.Version)}, &mcp.ServerOptions{
		Instructions: boundInstructions(b.name),
		Logger:       slog.New(infoAsDebug{log.Handler()}),
		// Non-nil, so that no logging capability is declared (as by New),
		// and without claude/channel: nothing is pushed here.
		Capabilities: &mcp.ServerCapabilities{},
	})
	b.addFeatures()
	return b.mcp
}

// boundInstructions are the server's instructions with a line that saves
// the model a register call and a wait for pushes that never come.
func boundInstructions(name string) string {
	if name == "" {
		return instructions
	}
	return instructions + "- Here you act as " + name + ", the name this connection's key is bound to: you are registered already " +
		"(register only confirms it; rename is refused). Mail is not pushed over this connection: call check, with wait_seconds to wait for mail.\n"
}

// mesh returns the peer: the HTTP face has joined for the server.
func (b *bound) mesh(ctx context.Context) (*election.Peer, error) {
	return b.peer, nil
}

// registered returns the peer and its name, or an error if the name's
// session has been lost since the HTTP face registered it.
func (b *bound) registered(ctx context.Context, action string) (*election.Peer, string, error) {
	if name := b.peer.Name(); name != "" && name == b.name {
		return b.peer, name, nil
	}
	return nil, "", b.notRegistered(action)
}

// notRegistered is the error for a tool that needs the bound name while
// the peer does not act as it (its session expired or was ended
// elsewhere). Calling register would not help: the HTTP face registers
// the name.
func (b *bound) notRegistered(action string) error {
	if b.name == "" {
		return fmt.Errorf("cannot %s: the name this connection's key is bound to is not registered on the mesh right now; try again in a moment", action)
	}
	return fmt.Errorf("cannot %s: %s, the name this connection's key is bound to, is not registered on the mesh right now; try again in a moment", action, b.name)
}

// configuredErr is nil: a bound server registers no name of its own.
func (b *bound) configuredErr() error { return nil }

// unauthorized passes the broker's reason on: register cannot help, as
// the HTTP face owns the session.
func (b *bound) unauthorized(action, msg string) error {
	return fmt.Errorf("cannot %s: %s", action, msg)
}

// otherName is the refusal of an action that would act as want, a name
// other than the bound one.
func (b *bound) otherName(action, want string) error {
	if ipcmesh.ValidateName(want) != nil {
		want = "NAME"
	}
	return fmt.Errorf("cannot %s: this connection acts as %s because its key is bound to %s; to act as %s, use a key made for it (run `ipcmesh key create %s` on the mesh's machine)",
		action, b.name, b.name, want, want)
}

// infoAsDebug logs the records of Info level at Debug. The go-sdk logs a
// session's start and end at Info ("server connecting", "session
// initialized", ...), and every request to the HTTP face's stateless
// Streamable HTTP endpoint is a session of its own: four lines a call,
// 4 MB in 11 minutes of a busy face, among which its warnings were lost.
type infoAsDebug struct{ slog.Handler }

func (h infoAsDebug) Enabled(ctx context.Context, l slog.Level) bool {
	if l == slog.LevelInfo {
		l = slog.LevelDebug
	}
	return h.Handler.Enabled(ctx, l)
}

func (h infoAsDebug) Handle(ctx context.Context, r slog.Record) error {
	if r.Level == slog.LevelInfo {
		r.Level = slog.LevelDebug
	}
	return h.Handler.Handle(ctx, r)
}

func (h infoAsDebug) WithAttrs(attrs []slog.Attr) slog.Handler {
	return infoAsDebug{h.Handler.WithAttrs(attrs)}
}

func (h infoAsDebug) WithGroup(name string) slog.Handler {
	return infoAsDebug{h.Handler.WithGroup(name)}
}
