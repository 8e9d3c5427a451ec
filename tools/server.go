// Package tools is the MCP face of ipcmesh: it serves the mesh to an AI
// assistant as a handful of tools, a prompt, an inbox resource and pushed
// notifications, over any MCP transport (stdio for `ipcmesh mcp`).
//
// NewBound serves the same tools for the HTTP face, acting as the name of
// a caller's key; the bridge in tools/remote (`ipcmesh mcp --remote`)
// brings them from a remote HTTP face to a local assistant over stdio.
//
// The server is a peer like any other: it joins the mesh (hosting the
// broker when none is running), acts as the name the assistant registers,
// and leaves gracefully when the assistant goes away.
//
// Every tool definition is read by the model in every session, so the
// surface is kept small: thirteen tools whose descriptions carry the phrases
// users say ("msg X: ...", "check messages", "who's online?", "post to
// #auth-dev: ..."), one tool per area rather than one per verb (history
// covers conversations, channels and threads; channels does create, list,
// find, join and leave), and results in plain text written for a model to
// read: short, one fact per line, and no JSON to decode.
package tools

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/election"
	"github.com/ipcmesh/ipcmesh/ipc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

//go:embed instructions.md
var instructions string

// Options configure a Server.
type Options struct {
	// Mesh says where the mesh is. The server sets Subscribe and OnEvent
	// itself, as it wants its mail pushed, and KeepCurrent: the name it
	// registers is its own, not the data folder's default.
	Mesh election.Config
	// Name, when set (from IPC_NAME), is registered by the first tool call
	// that needs a name, so the assistant need not call register. Not at
	// start: clients start servers only to list their tools (claude mcp
	// list, gemini mcp list), and such a check must not claim a name.
	Name string
	// Session is the id of the assistant's session the server serves
	// (Claude Code's CLAUDE_CODE_SESSION_ID), which its hooks know too:
	// the server records the name it acts as under it, and the hooks act
	// as that name. Empty, nothing is recorded.
	Session string
	// Version is reported to clients as the server's version.
	Version string
	// Logger receives the server's logs; nil discards them. It must not
	// write to the MCP stream.
	Logger *slog.Logger
}

// Server serves one MCP session for one peer of the mesh: it joins the
// mesh itself, acts as the name the model registers (or IPC_NAME), and
// pushes the mail for that name to the client. The servers NewBound
// returns have the same tools, but act as a name chosen for them.
type Server struct {
	core
	opts Options

	out   *notifyingTransport // set by Run
	queue chan ipcmesh.Message

	started chan struct{} // closed once the start-up join is done

	// regMu serialises registering IPC_NAME: two first tool calls at once
	// would otherwise both register it, the second finding it in use by
	// the first. It is held across calls to the mesh, and only for this.
	regMu sync.Mutex

	// mu guards the fields below. It is never held across a call to the
	// mesh, so a slow join or register holds up no other tool call.
	mu      sync.Mutex
	peer    *election.Peer // nil until joined, and after Run returns
	closed  bool
	autoErr error // why IPC_NAME could not be registered, last time it was tried
	session sessionRecord
}

// New returns a server for the mesh described by opts. Call Run to serve.
func New(opts Options) *Server {
	log := orDiscard(opts.Logger)
	opts.Version = orDevel(opts.Version)
	s := &Server{
		opts:    opts,
		queue:   make(chan ipcmesh.Message, pushQueue),
		started: make(chan struct{}),
	}
	s.opts.Mesh.Subscribe = true
	// Two assistants on one data folder can read each other's tokens:
	// the holder keeps the second from joining the first's session
	// when both register one name at once, which inUse cannot see.
	s.opts.Mesh.Holder = ipc.NewID()
	s.opts.Mesh.OnEvent = s.onEvent
	s.opts.Mesh.OnRenamed = s.followRename
	// The server's name is its own: registering it must not change the
	// name the user's commands act as in the data folder.
	s.opts.Mesh.KeepCurrent = true
	if s.opts.Mesh.Logger == nil {
		s.opts.Mesh.Logger = log
	}
	s.core = core{log: log, id: s, largeBytes: orStoreDefault(opts.Mesh.Store.LargeMessageBytes), configured: opts.Name, paths: true}
	s.mcp = mcp.NewServer(&mcp.Implementation{Name: "ipcmesh", Version: opts.Version}, &mcp.ServerOptions{
		Instructions: instructions,
		Logger:       log,
		Capabilities: &mcp.ServerCapabilities{
			// Claude Code turns notifications/claude/channel into a message
			// in the running session, if the server declares this.
			Experimental: map[string]any{channelCapability: map[string]any{}},
		},
		SubscribeHandler:   s.subscribe,
		UnsubscribeHandler: s.unsubscribe,
	})
	s.addFeatures()
	if opts.Session != "" {
		s.session = sessionRecord{id: opts.Session, dir: opts.Mesh.DataDir}
		s.mcp.AddReceivingMiddleware(s.recordName)
	}
	return s
}

// Run joins the mesh and serves MCP over t until the client goes away (for
// stdio: stdin closes) or ctx is done, then leaves the mesh gracefully: a
// server that hosts the broker hands it over to the other peers. Only MCP
// is written to t. Run serves one session: call it once.
func (s *Server) Run(ctx context.Context, t mcp.Transport) error {
	s.out = &notifyingTransport{Transport: t}
	// Told to stop (SIGTERM, as a client that stops its server sends
	// it), the server ends the calls under way, which the session would
	// wait for. A call under way when stdin closes is answered, as a
	// script that pipes its requests in expects.
	s.mcp.AddReceivingMiddleware(EndCallsWith(func(context.Context) context.Context { return ctx }))
	ss, err := s.mcp.Connect(ctx, s.out, nil)
	if err != nil {
		return fmt.Errorf("start the MCP session: %w", err)
	}
	// Joining may take a moment (an election may be running): the MCP
	// handshake does not wait for it, tool calls do.
	joinCtx, stopJoin := context.WithCancel(context.Background())
	go s.start(joinCtx)
	pushCtx, stopPush := context.WithCancel(context.Background())
	pushDone := make(chan struct{})
	go func() {
		defer close(pushDone)
		s.pushLoop(pushCtx, ss)
	}()

	err = waitSession(ctx, ss)
	stopJoin()
	<-s.started
	stopPush()
	<-pushDone

	s.mu.Lock()
	p := s.peer
	s.peer, s.closed = nil, true
	s.mu.Unlock()
	if p != nil {
		s.leave(p)
	}
	if s.session.id != "" {
		s.forgetSession()
	}
	if err != nil {
		return fmt.Errorf("MCP session: %w", err)
	}
	return nil
}

// start joins the mesh, so that the first tool call need not wait for it.
// Tools wait for it; when it fails they try again themselves.
func (s *Server) start(ctx context.Context) {
	defer close(s.started)
	if _, err := s.join(ctx); err != nil && ctx.Err() == nil {
		s.log.Warn("cannot join the mesh yet; tools will retry", "addr", s.opts.Mesh.Addr, "err", err)
	}
}

// mesh returns the peer, joining the mesh again if the start-up join
// failed (the program holding the port may have gone since).
func (s *Server) mesh(ctx context.Context) (*election.Peer, error) {
	select {
	case <-s.started:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	s.mu.Lock()
	p, closed := s.peer, s.closed
	s.mu.Unlock()
	switch {
	case closed:
		return nil, errShuttingDown
	case p != nil:
		return p, nil
	}
	return s.join(ctx)
}

// join joins the mesh and makes the peer the server's. Joining is network
// I/O and may wait for an election, so s.mu is not held meanwhile: two
// tool calls that find no peer may both join, and the one that comes back
// second closes its peer and uses the first's, as it does when Run has
// ended meanwhile.
func (s *Server) join(ctx context.Context) (*election.Peer, error) {
	p, err := election.Join(ctx, s.opts.Mesh)
	if err != nil {
		return nil, fmt.Errorf("cannot join the mesh on %s: %w", s.opts.Mesh.Addr, err)
	}
	s.mu.Lock()
	cur, closed := s.peer, s.closed
	if cur == nil && !closed {
		s.peer = p
	}
	s.mu.Unlock()
	switch {
	case closed:
		s.leave(p)
		return nil, errShuttingDown
	case cur != nil:
		s.leave(p)
		return cur, nil
	}
	return p, nil
}

// leave closes p, which leaves the mesh gracefully: a peer that hosts the
// broker hands it over to the other peers.
func (s *Server) leave(p *election.Peer) {
	if err := p.Close(); err != nil && !errors.Is(err, election.ErrClosed) {
		s.log.Warn("leave the mesh", "err", err)
	}
}

// errShuttingDown is the answer of a tool called while Run returns.
var errShuttingDown = errors.New("the ipcmesh MCP server is shutting down")

// registered returns the peer and the name it acts as, or an error that
// tells the model to register first.
func (s *Server) registered(ctx context.Context, action string) (*election.Peer, string, error) {
	p, err := s.mesh(ctx)
	if err != nil {
		return nil, "", fmt.Errorf("cannot %s: %w", action, err)
	}
	name := p.Name()
	if name == "" && s.opts.Name != "" {
		// The first call that needs a name, or IPC_NAME could not be
		// registered before, or its session was lost since (expired,
		// revoked): register it now.
		name = s.registerConfigured(ctx, p)
	}
	if name == "" {
		return nil, "", s.notRegistered(action)
	}
	return p, name, nil
}

// registerConfigured registers IPC_NAME and returns the name registered,
// "" if it failed (the error is kept for notRegistered). A name registered
// meanwhile by another call is returned as it is.
func (s *Server) registerConfigured(ctx context.Context, p *election.Peer) string {
	s.regMu.Lock()
	defer s.regMu.Unlock()
	if name := p.Name(); name != "" {
		return name
	}
	// Two assistants configured with one IPC_NAME (a user-scope install
	// with --name) would otherwise share a session and an inbox, each
	// acking mail the other never sees: the second one stays unregistered
	// and its tools say why.
	err := inUse(ctx, p, s.opts.Name)
	var sess ipc.Session
	if err == nil {
		// Claimed, not taken: an IPC_NAME renamed away since is refused
		// with its new name rather than taken back from its forward.
		sess, err = p.Claim(ctx, s.opts.Name)
	}
	s.mu.Lock()
	s.autoErr = err
	s.mu.Unlock()
	if err != nil {
		s.log.Warn("cannot register IPC_NAME", "name", s.opts.Name, "err", err)
		return ""
	}
	s.log.Info("registered", "name", sess.Name, "resumed", sess.Resumed, "unread", sess.Unread)
	if sess.Unread > 0 {
		s.inboxChanged(ctx)
	}
	return sess.Name
}

// notRegistered is the error for a tool that needs a name before one is
// registered.
func (s *Server) notRegistered(action string) error {
	msg := fmt.Sprintf("cannot %s: this instance is not registered on the mesh yet; call register with a name first (e.g. {\"name\": \"alice\"})", action)
	if auto := s.configuredErr(); auto != nil {
		msg += fmt.Sprintf(". IPC_NAME=%q could not be registered: %v", s.opts.Name, auto)
	}
	return errors.New(msg)
}

// configuredErr is why IPC_NAME could not be registered the last time a
// tool call tried.
func (s *Server) configuredErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.autoErr
}

// unauthorized asks the model to register again: the session it had has
// expired or was revoked, and registering makes a new one.
func (s *Server) unauthorized(action, msg string) error {
	return fmt.Errorf("cannot %s: %s (call register again)", action, msg)
}

// waitSession waits for the MCP session to end: the client went away, or
// ctx is done, which closes it and counts as a clean end.
func waitSession(ctx context.Context, ss *mcp.ServerSession) error {
	ended := make(chan error, 1)
	go func() { ended <- ss.Wait() }()
	select {
	case err := <-ended:
		return err
	case <-ctx.Done():
		ss.Close()
		<-ended
		return nil
	}
}
