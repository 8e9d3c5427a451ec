// Package gateway is the HTTP face of the mesh (docs/HTTP.md): REST under
// /api/v1, a server-sent-events stream of new mail, MCP over Streamable
// HTTP (/mcp) and over the legacy HTTP+SSE transport (/sse), an OpenAPI 3.1
// description of the REST routes, a liveness probe and the web page.
//
// The face is a client of the mesh like any other process. It joins with
// one unnamed peer, used to check access keys, and acts for each caller as
// the name the caller's key is bound to through one more peer per name
// (a "session"), registered on the first request that needs the name and
// closed once the name has been idle for Options.Idle. So the mesh's rules,
// limits and errors apply unchanged: the face adds keys, per-key rate
// limits and the browser protections (Host, Origin, CORS, body size).
//
// The caller is always the key's name: no request body names a sender.
// What the name may see is decided by the broker, as for any peer: a
// private channel, another pair's conversation or a thread the name is
// not part of is not_found.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/election"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Options configure a Server. Only Mesh and Addr are required.
type Options struct {
	// Mesh says how peers join the mesh (from election.FromEnv). The face
	// sets Subscribe, OnEvent and KeepCurrent itself on the peers it makes
	// for names.
	Mesh election.Config
	// Addr is the host:port the HTTP server listens on. On a loopback
	// address it decides which Host headers are accepted.
	Addr string
	// AllowOrigins are the origins (scheme://host[:port]) allowed to call
	// the face from a browser page of theirs; they get CORS headers. Never
	// "*".
	AllowOrigins []string
	// AllowHosts are Host names accepted besides the loopback names, for a
	// face on a loopback address reached through a tunnel or proxy.
	AllowHosts []string
	// Rate and Burst limit the requests of each key (50 a second, bursts
	// of 100, if 0).
	Rate  float64
	Burst int
	// Idle is how long a name stays online after its last request or
	// stream (10 minutes if 0).
	Idle time.Duration
	// MaxBody limits request bodies: twice the mesh's message limit plus
	// 64 KiB for JSON escaping, if 0.
	MaxBody int64
	// MaxKeylessConns bounds the connections held that have not yet
	// carried a request with a valid key; a new one beyond it closes the
	// oldest (1024 if 0). See ConfigureServer.
	MaxKeylessConns int
	// Version is reported by /health, the OpenAPI document and MCP.
	Version string
	// Logger receives the face's logs; nil discards them. Keys are never
	// logged, only their ids.
	Logger *slog.Logger
}

// The defaults of Options, and limits of the face.
const (
	defaultRate  = 50
	defaultBurst = 100
	defaultIdle  = 10 * time.Minute
	// pingEvery is how often an event stream gets a comment line, so that
	// proxies do not close it as idle.
	pingEvery = 15 * time.Second
	// streamWriteTimeout bounds each write to an event stream, and the
	// write of a large answer besides the time its size allows.
	streamWriteTimeout = 30 * time.Second
	// streamEndGrace bounds the write of an ended stream's last bytes.
	streamEndGrace = time.Second
	// setupTimeout bounds joining and registering a name's peer.
	setupTimeout = 20 * time.Second
)

// Server is the HTTP face. Serve its Handler with an http.Server; Close it
// after that server has stopped (or to end the streams it still serves).
type Server struct {
	opts     Options
	log      *slog.Logger
	admin    *election.Peer // unnamed: checks keys and answers /me
	guard    guard
	limits   *limiters // per key id, after the key checked out
	failures *limiters // per client address, for keys that did not
	keyNames sync.Map  // key id -> *knownKey, from the broker
	keyList  keyList   // every key's name, for a client over its budget
	sessions *sessions
	bodies   *bodyBudget
	conns    *connGuard
	routes   []route
	mux      *http.ServeMux
	// allowed holds the methods of the paths whose 405 cannot be found
	// by probing the mux (register): the Allow of their 405s.
	allowed map[string][]string
	handler http.Handler
	mcp     http.Handler
	openapi openAPIJSON
	ping    time.Duration
	// bodyGrace is the time a request body has to arrive, besides what
	// its size allows (bodyDeadline), and streamWrite the time a write
	// to an event stream may take, or a large answer's besides its size:
	// fields so that tests shorten them.
	bodyGrace   time.Duration
	streamWrite time.Duration
	// beforeReplay, when set (by tests), is called as an event stream is
	// about to read its replay (replay.go): after its subscription.
	beforeReplay func()

	// ctx ends with Close: every request's context derives from it, so
	// Close ends event streams and long waits at once.
	ctx    context.Context
	cancel context.CancelCauseFunc

	closeOnce sync.Once
	closeErr  error
}

// New joins the mesh with an unnamed peer (hosting the broker when none
// runs) and returns the face, ready to serve.
func New(ctx context.Context, opts Options) (*Server, error) {
	opts, err := withDefaults(opts)
	if err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.Mesh.Logger == nil {
		opts.Mesh.Logger = log
	}
	g, err := newGuard(opts)
	if err != nil {
		return nil, err
	}
	cfg := opts.Mesh
	cfg.Subscribe, cfg.OnEvent, cfg.KeepCurrent = false, nil, true
	cfg.CallersElsewhere = true
	admin, err := election.Join(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("join the mesh at %s for the HTTP face: %w", cfg.Addr, err)
	}
	s := &Server{
		opts:        opts,
		log:         log,
		admin:       admin,
		guard:       g,
		limits:      newLimiters(opts.Rate, opts.Burst),
		failures:    newLimiters(opts.Rate, opts.Burst),
		bodies:      newBodyBudget(opts.MaxBody),
		conns:       newConnGuard(opts.MaxKeylessConns, log),
		ping:        pingEvery,
		bodyGrace:   bodyGrace,
		streamWrite: streamWriteTimeout,
	}
	s.keyList.reader = s.readKeyList
	s.ctx, s.cancel = context.WithCancelCause(context.WithoutCancel(ctx))
	s.sessions = newSessions(s)
	s.routes = s.restRoutes()
	if s.openapi, err = openAPIBytes(s.routes, opts.Version); err != nil {
		admin.Close()
		return nil, err
	}
	s.mcp = mcp.NewStreamableHTTPHandler(s.mcpServerFor, &mcp.StreamableHTTPOptions{
		// Stateless: each POST stands alone, so every protocol version the
		// SDK speaks is served, 2026-07-28 (server/discover) included, and
		// no MCP session outlives the request that made it.
		Stateless: true,
		// The guard checks Host against Addr and AllowHosts; the SDK's own
		// check knows no AllowHosts and would refuse a tunnel's name.
		DisableLocalhostProtection: true,
		MaxRequestBodyBytes:        opts.MaxBody,
		// A client that hangs up ends its tool call (a check waiting for
		// mail, say) instead of leaving it to run out. The SDK does so at
		// protocol 2026-07-28 and later; the sessions' handlers (mcp.go)
		// do at every version.
		PropagateRequestCancellation: true,
		Logger:                       log,
	})
	s.mux = http.NewServeMux()
	s.register()
	s.handler = s.guarded(s.mux)
	return s, nil
}

// withDefaults fills in the zero fields of opts and checks the rest.
func withDefaults(opts Options) (Options, error) {
	if opts.Rate < 0 || opts.Burst < 0 || opts.Idle < 0 || opts.MaxBody < 0 || opts.MaxKeylessConns < 0 {
		return opts, errors.New("gateway: Rate, Burst, Idle, MaxBody and MaxKeylessConns must not be negative")
	}
	if opts.Rate == 0 {
		opts.Rate = defaultRate
	}
	if opts.Burst == 0 {
		opts.Burst = defaultBurst
	}
	if opts.Idle == 0 {
		opts.Idle = defaultIdle
	}
	if opts.MaxBody == 0 {
		opts.MaxBody = 2*int64(opts.Mesh.MessageLimit()) + 64<<10
	}
	if opts.MaxKeylessConns == 0 {
		opts.MaxKeylessConns = defaultMaxKeyless
	}
	if opts.Version == "" {
		opts.Version = "devel"
	}
	if _, _, err := net.SplitHostPort(opts.Addr); err != nil {
		return opts, fmt.Errorf("gateway: Addr %q: want the host:port the face listens on: %w", opts.Addr, err)
	}
	if err := CheckOrigins(opts.AllowOrigins); err != nil {
		return opts, fmt.Errorf("gateway: AllowOrigins: %w", err)
	}
	return opts, nil
}

// CheckOrigins checks origins as Options.AllowOrigins takes them, so that
// a command can refuse a bad one in the words of its own flag before it
// starts anything.
func CheckOrigins(origins []string) error {
	for _, o := range origins {
		if strings.TrimSpace(o) == "*" {
			return errors.New(`"*" would let any web page act with a key pasted into it: name each origin, such as https://app.example`)
		}
		if _, err := normOrigin(o); err != nil {
			return fmt.Errorf("%q: %w", o, err)
		}
	}
	return nil
}

// CheckHosts checks names given for Options.AllowHosts: each must be what
// a Host header holds, a host name or IP address with or without a port.
// A URL, a path, a wildcard or an empty name would match no request, and
// the face would refuse the very host it was told to accept.
func CheckHosts(hosts []string) error {
	for _, h := range hosts {
		name := strings.TrimSpace(h)
		switch {
		case name == "":
			return errors.New(`"" names no host: give a host name, such as mesh.example.com`)
		case strings.Contains(name, "://"):
			if u, err := url.Parse(name); err == nil && u.Host != "" {
				return fmt.Errorf("%q is a URL: give its host name alone, %s", h, u.Host)
			}
			return fmt.Errorf("%q is a URL: give its host name alone, such as mesh.example.com", h)
		case strings.Contains(name, "*"):
			return fmt.Errorf("%q: wildcards are not taken: name each host, such as mesh.example.com", h)
		}
		if _, _, ok := hostPort(name); !ok {
			return fmt.Errorf("%q is not a host name: give one alone, with a port or not, such as mesh.example.com or mesh.example.com:8443", h)
		}
	}
	return nil
}

// Handler returns the face's HTTP handler. A server that serves it without
// ConfigureServer leaves the connections without a key unbounded.
func (s *Server) Handler() http.Handler { return s.handler }

// errClosing is why requests and streams end when the face closes.
var errClosing = ipcmesh.Errorf(ipcmesh.CodeShuttingDown, "the HTTP face is shutting down: retry shortly")

// Close ends every event stream and request in progress, closes the peer
// of every name (each leaves the mesh gracefully, handing the broker over
// if it hosts it) and then the unnamed peer.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.cancel(errClosing)
		err := s.sessions.close()
		if aerr := s.admin.Close(); aerr != nil {
			err = errors.Join(err, fmt.Errorf("close the HTTP face's peer: %w", aerr))
		}
		s.closeErr = err
	})
	return s.closeErr
}
