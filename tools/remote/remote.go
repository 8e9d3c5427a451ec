// Package remote serves the MCP tools of a mesh on another machine to a
// local assistant. It is the bridge of `ipcmesh mcp --remote URL`: a local
// stdio MCP server that forwards everything to that mesh's HTTP face, at
// its /mcp endpoint (docs/HTTP.md). It offers exactly what the face offers
// (tools, prompts and resources, with the face's own definitions and
// instructions), so the assistant sees the mesh as the name the face's key
// is bound to, and it returns the face's results untouched.
//
// The key goes with each request as a bearer token, to the face's origin
// only; a refused key is reported with what to fix.
package remote

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ipcmesh/ipcmesh/ipc"
	"github.com/ipcmesh/ipcmesh/tools"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// connectTimeout bounds connecting to the face, so that a face that
// accepts connections but never answers fails the bridge rather than
// hanging the assistant's start-up.
const connectTimeout = 30 * time.Second

// codeRejected is the code the go-sdk gives a request its HTTP transport
// could not deliver or got no answer for (jsonrpc2.ErrRejected, in the
// SDK's internal/jsonrpc2/wire.go). Any other JSON-RPC error is the remote's
// answer, and passed on as it is.
const codeRejected = -32005

// Options configure Serve.
type Options struct {
	// URL is the HTTP face: https://host:port, or its /mcp endpoint.
	URL string
	// Key is an access key made with `ipcmesh key create NAME`. It is sent
	// as a bearer token to URL's host only, and never logged.
	Key string
	// HTTPClient carries the requests (TLS roots for a self-signed face,
	// proxies); nil means http.DefaultClient. It is copied, not changed.
	HTTPClient *http.Client
	// Version is reported to the local client as the server's version,
	// and to the face as the bridge's.
	Version string
	// Name is the name the user set for the local mesh (IPC_NAME), if
	// any. The tools act as the key's name whatever it is; when it is not
	// Name, the bridge warns of it as it starts.
	Name string
	// CA names the setting that gave HTTPClient a CA to trust besides
	// the system's ("--ca FILE", "IPC_CA_FILE=FILE"), for the errors;
	// "" if none did.
	CA string
	// Logger receives the bridge's logs; nil discards them. It must not
	// write to the MCP stream.
	Logger *slog.Logger
	// DialTimeout bounds each TCP connection to the face, when
	// HTTPClient's transport is an *http.Transport (or nil); 0 means
	// DefaultDialTimeout.
	DialTimeout time.Duration
}

// DefaultDialTimeout is how long a connection to the face may take. A
// host that is down, or a firewall that drops the connection, answers
// nothing: Go's default dial waits 30 s, as long as connectTimeout, and
// the bridge then failed with "context deadline exceeded", after an
// assistant's own start-up timeout may have given up on it. Connecting
// dials twice (the go-sdk asks for the server's description, then falls
// back to initialize), so such a face is found out in twice this. A
// face that is up answers a connection in well under a second, even far
// away, and 5 s leaves room for two lost SYNs.
const DefaultDialTimeout = 5 * time.Second

// Serve connects to the HTTP face opts.URL with opts.Key and serves its
// tools, prompts and resources over t until the local client goes away or
// ctx is done. It fails at once, with an error that says what to fix, if
// the face cannot be reached or refuses the key. A call whose answer was
// lost because the face went away (restarted, say) is retried once on a
// new connection, made as soon as the face listens again (within
// backFor); one that found nothing listening fails at once.
func Serve(ctx context.Context, opts Options, t mcp.Transport) error {
	endpoint, err := remoteEndpoint(opts.URL)
	if err != nil {
		return err
	}
	if opts.Key == "" {
		return errors.New("no key for the ipcmesh HTTP face: set IPC_KEY or pass --key-file FILE (make one with `ipcmesh key create NAME` on the mesh's machine)")
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if endpoint.Scheme == "http" && !isLoopback(endpoint.Hostname()) {
		log.Warn("the key goes unencrypted over plain HTTP: use https:// unless the network is trusted", "url", endpoint.Redacted())
	}
	hc := http.Client{}
	if opts.HTTPClient != nil {
		hc = *opts.HTTPClient
	}
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	if tr, ok := base.(*http.Transport); ok {
		base = boundedDial(tr, cmp.Or(opts.DialTimeout, DefaultDialTimeout))
	}
	hc.Transport = &bearer{key: opts.Key, origin: endpoint, base: base}

	version := opts.Version
	if version == "" {
		version = "devel"
	}
	b := &bridge{endpoint: endpoint.Redacted(), ca: opts.CA, version: version, http: &hc, log: log}
	b.client = mcp.NewClient(&mcp.Implementation{Name: "ipcmesh-bridge", Version: b.version}, &mcp.ClientOptions{
		Logger: log,
		// The bridge has nothing to offer the face (no roots, no sampling).
		Capabilities:                &mcp.ClientCapabilities{},
		ProgressNotificationHandler: b.progress,
	})
	defer b.close()
	srv, err := b.mirror(ctx)
	if err != nil {
		return err
	}
	b.warnOtherName(ctx, opts.Name)
	return b.serve(ctx, srv, t)
}

// warnOtherName warns when name, the user's IPC_NAME, is not the name
// the key acts as. IPC_NAME is what every local command and `ipcmesh
// mcp` act as, and a user who exported it would otherwise send as the
// key's name without a word. The face's /api/v1/me says the key's name;
// a face that does not answer it (a proxy that passes only /mcp) is
// not asked again, and nothing is said.
func (b *bridge) warnOtherName(ctx context.Context, name string) {
	if name == "" {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	me := strings.TrimSuffix(b.endpoint, "/mcp") + "/api/v1/me"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, me, nil)
	if err != nil {
		return
	}
	resp, err := b.http.Do(req)
	if err != nil {
		b.log.Debug("could not ask the face which name the key acts as", "err", err)
		return
	}
	defer resp.Body.Close()
	var who struct {
		Name string `json:"name"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&who) != nil || who.Name == "" || who.Name == name {
		return
	}
	b.log.Warn(fmt.Sprintf("IPC_NAME is %s, but the key acts as %s, and so do the tools: to act as %s, use a key made for it (ipcmesh key create %s on the mesh's machine), or unset IPC_NAME",
		plainLine(name, 100), plainLine(who.Name, 100), plainLine(name, 100), plainLine(name, 100)))
}

// bridge is one run of Serve: the remote session and the local one.
type bridge struct {
	endpoint string // the face's /mcp URL, for messages and logs
	ca       string // the setting that gave a CA, for the errors
	version  string // of this program, told both sides
	http     *http.Client
	log      *slog.Logger
	client   *mcp.Client
	local    atomic.Pointer[mcp.ServerSession] // for forwarding progress

	mu     sync.Mutex
	remote *mcp.ClientSession // nil until connected, and after a failure
}

// mirror connects to the face and returns a local server with its
// instructions, tools, prompts and resources, each forwarded to it.
func (b *bridge) mirror(ctx context.Context) (*mcp.Server, error) {
	cctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	cs, err := b.session(ctx)
	if err != nil {
		return nil, err
	}
	init := cs.InitializeResult()
	caps := init.Capabilities
	if caps == nil {
		caps = &mcp.ServerCapabilities{}
	}
	srv := mcp.NewServer(&mcp.Implementation{Name: "ipcmesh", Version: b.version}, &mcp.ServerOptions{
		Instructions: init.Instructions,
		Logger:       b.log,
		Capabilities: &mcp.ServerCapabilities{}, // no logging, as the face
	})
	for tool, err := range cs.Tools(cctx, nil) {
		if err != nil {
			return nil, b.failure(cctx, "list the tools", err)
		}
		srv.AddTool(tool, b.callTool)
	}
	if caps.Prompts != nil {
		for p, err := range cs.Prompts(cctx, nil) {
			if err != nil {
				return nil, b.failure(cctx, "list the prompts", err)
			}
			srv.AddPrompt(p, b.getPrompt)
		}
	}
	if caps.Resources != nil {
		for r, err := range cs.Resources(cctx, nil) {
			if err != nil {
				return nil, b.failure(cctx, "list the resources", err)
			}
			srv.AddResource(r, b.readResource)
		}
	}
	return srv, nil
}

// serve serves srv over t until the local client goes away or ctx is done.
func (b *bridge) serve(ctx context.Context, srv *mcp.Server, t mcp.Transport) error {
	// Told to stop, the bridge ends the calls under way, and with them
	// their requests to the face, rather than wait for their answers.
	srv.AddReceivingMiddleware(tools.EndCallsWith(func(context.Context) context.Context { return ctx }))
	ss, err := srv.Connect(ctx, t, nil)
	if err != nil {
		return fmt.Errorf("start the MCP session: %w", err)
	}
	b.local.Store(ss)
	// ctx being done closes the session, and counts as a clean end.
	stop := context.AfterFunc(ctx, func() { ss.Close() })
	defer stop()
	if err := ss.Wait(); err != nil && ctx.Err() == nil {
		return fmt.Errorf("MCP session: %w", err)
	}
	return nil
}

// session returns the remote session, connecting first if there is none.
// Holding b.mu while connecting makes concurrent calls that find the
// session gone share one reconnection.
func (b *bridge) session(ctx context.Context) (*mcp.ClientSession, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.remote != nil {
		return b.remote, nil
	}
	tr := &mcp.StreamableClientTransport{
		Endpoint:   b.endpoint,
		HTTPClient: b.http,
		// Nothing is pushed by the face: answers come on the requests'
		// own streams, so no standing GET stream is kept open.
		DisableStandaloneSSE: true,
	}
	cctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	cs, err := b.client.Connect(cctx, tr, nil)
	if err != nil {
		var ue *unauthorizedError
		if errors.As(err, &ue) {
			return nil, ue
		}
		var re *refusedError
		if errors.As(err, &re) {
			return nil, re
		}
		return nil, unreachable(b.endpoint, b.ca, err)
	}
	b.log.Debug("connected to the HTTP face", "url", b.endpoint, "protocol", cs.InitializeResult().ProtocolVersion)
	b.remote = cs
	return cs, nil
}

// drop forgets cs, if it is still the session, so that the next call
// connects anew, and closes it.
func (b *bridge) drop(cs *mcp.ClientSession) {
	b.mu.Lock()
	if b.remote == cs {
		b.remote = nil
	}
	b.mu.Unlock()
	cs.Close()
}

// close closes the remote session, if any.
func (b *bridge) close() {
	b.mu.Lock()
	cs := b.remote
	b.remote = nil
	b.mu.Unlock()
	if cs != nil {
		cs.Close()
	}
}

// do runs f on the remote session. If it fails without an answer from the
// face (the face restarted and lost the session, or the connection broke),
// it connects again and runs f once more. If nothing took the connection
// (the face is down, or moved), the request never reached the face, and
// no answer was lost: f fails at once, and the next call connects anew.
func (b *bridge) do(ctx context.Context, f func(*mcp.ClientSession) error) error {
	for retried := false; ; retried = true {
		var cs *mcp.ClientSession
		var err error
		if retried {
			cs, err = b.sessionAgain(ctx)
		} else {
			cs, err = b.session(ctx)
		}
		if err != nil {
			return err
		}
		err = f(cs)
		if err == nil || retried || !retryable(ctx, err) {
			return err
		}
		if notListening(err) {
			b.log.Info("the HTTP face takes no connections", "url", b.endpoint, "err", err)
			b.drop(cs)
			return err
		}
		b.log.Info("no answer from the HTTP face; connecting again", "url", b.endpoint, "err", err)
		b.drop(cs)
	}
}

// notListening reports whether err is a request that did not reach the
// face because nothing takes connections at its address: the connection
// was refused, or there is no route to it. A face that restarts does not
// listen for a second or two, but a call made meanwhile lost nothing the
// face did, so it is not held for the face to come back (sessionAgain
// held it for up to backFor, 30 s, before it said the face was down): the
// model is told at once, and calls again.
func notListening(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial" && !op.Timeout()
}

// backFor bounds how long a call whose answer was lost waits for the
// face to take connections again, and backPoll how often it tries.
const (
	backFor  = 30 * time.Second
	backPoll = 250 * time.Millisecond
)

// sessionAgain connects to the face again for a call whose answer was
// lost, trying for up to backFor while the face cannot be reached. The
// answer is lost when the face goes away, and a face that restarts takes
// a second or two to listen again: the one new try was made at once,
// found the port closed, and the call failed although every try of it
// carries the same idempotency key and may wait.
func (b *bridge) sessionAgain(ctx context.Context) (*mcp.ClientSession, error) {
	until := time.Now().Add(backFor)
	for {
		cs, err := b.session(ctx)
		if err == nil || !retryable(ctx, err) || time.Now().Add(backPoll).After(until) {
			return cs, err
		}
		b.log.Debug("the HTTP face is not back yet; trying again", "url", b.endpoint, "err", err)
		t := time.NewTimer(backPoll)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, err
		case <-t.C:
		}
	}
}

// retryable reports whether err is a failure to get an answer, which a
// new connection may cure, rather than an answer.
func retryable(ctx context.Context, err error) bool {
	var ue *unauthorizedError
	var re *refusedError
	var we *jsonrpc.Error
	switch {
	case ctx.Err() != nil, errors.As(err, &ue), errors.As(err, &re):
		return false
	case errors.As(err, &we):
		return we.Code == codeRejected
	}
	return true
}

// failure is the error for a forwarded request that failed: the face's
// own JSON-RPC error as it is, or one that says the face is out of reach.
func (b *bridge) failure(ctx context.Context, action string, err error) error {
	var ue *unauthorizedError
	var re *refusedError
	var ur *unreachableError
	var we *jsonrpc.Error
	switch {
	case errors.As(err, &ue):
		return ue
	case errors.As(err, &re):
		return fmt.Errorf("cannot %s: %w", action, re)
	case errors.As(err, &ur):
		return fmt.Errorf("cannot %s: %w", action, ur) // said once, not once per layer
	case errors.As(err, &we) && we.Code != codeRejected:
		return we
	case ctx.Err() != nil:
		return err
	}
	return fmt.Errorf("cannot %s: %w", action, unreachable(b.endpoint, b.ca, err))
}

// callFailure is failure for a call the bridge forwards while it serves,
// which says of a face out of reach that the bridge needs no restart
// once the face is back: each call connects anew.
func (b *bridge) callFailure(ctx context.Context, action string, err error) error {
	err = b.failure(ctx, action, err)
	var ur *unreachableError
	if errors.As(err, &ur) {
		return fmt.Errorf("%w; the next call connects again", err)
	}
	return err
}

// callTool forwards a tool call and returns the face's result as it is.
func (b *bridge) callTool(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	// The session is known once serve has it, but a call may come first.
	b.local.Store(req.Session)
	// Every try of this call names the same message, so that a send the
	// face handled before the connection broke is not sent twice.
	id, ok := req.Params.Meta[tools.IdempotencyMeta].(string)
	if !ok {
		id = ipc.NewID()
	}
	var res *mcp.CallToolResult
	err := b.do(ctx, func(cs *mcp.ClientSession) (err error) {
		// New params for each try: the SDK adds to them what it sends.
		params := &mcp.CallToolParams{Name: req.Params.Name, Meta: mcp.Meta{tools.IdempotencyMeta: id}}
		if len(req.Params.Arguments) > 0 {
			params.Arguments = req.Params.Arguments // raw JSON, sent as it came
		}
		// The token lets the face's progress reach the local client (a
		// check waiting for mail); the rest of _meta describes the local
		// client to the bridge, not the bridge to the face. It is copied
		// as it came: SetProgressToken would panic on a number, which
		// JSON decoding makes a float64.
		if tok := req.Params.GetProgressToken(); tok != nil {
			params.Meta["progressToken"] = tok
		}
		res, err = cs.CallTool(ctx, params)
		return err
	})
	if err == nil {
		return res, nil
	}
	err = b.callFailure(ctx, "call "+req.Params.Name, err)
	// Only the face's own JSON-RPC error (an unknown tool, say) is passed
	// on as one: failure returns it bare. The go-sdk's error for a
	// request that did not go is a JSON-RPC error too, and lies under a
	// face that cannot be reached: as one, the client got code -32005 for
	// a face that was down, and the model may not read that.
	if _, ok := err.(*jsonrpc.Error); ok || ctx.Err() != nil {
		return nil, err
	}
	// The model reads a tool's error result; a protocol error it may not.
	res = new(mcp.CallToolResult)
	res.SetError(err)
	return res, nil
}

// getPrompt forwards prompts/get.
func (b *bridge) getPrompt(ctx context.Context, req *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
	var res *mcp.GetPromptResult
	err := b.do(ctx, func(cs *mcp.ClientSession) (err error) {
		res, err = cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: req.Params.Name, Arguments: req.Params.Arguments})
		return err
	})
	if err != nil {
		return nil, b.callFailure(ctx, "get the prompt "+req.Params.Name, err)
	}
	return res, nil
}

// readResource forwards resources/read.
func (b *bridge) readResource(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
	var res *mcp.ReadResourceResult
	err := b.do(ctx, func(cs *mcp.ClientSession) (err error) {
		res, err = cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: req.Params.URI})
		return err
	})
	if err != nil {
		return nil, b.callFailure(ctx, "read "+req.Params.URI, err)
	}
	return res, nil
}

// progress passes the face's progress notifications on to the local
// client: the tokens are the local client's own, forwarded with its calls.
func (b *bridge) progress(ctx context.Context, req *mcp.ProgressNotificationClientRequest) {
	ss := b.local.Load()
	if ss == nil {
		return
	}
	if err := ss.NotifyProgress(ctx, req.Params); err != nil {
		b.log.Debug("forward a progress notification", "err", err)
	}
}
