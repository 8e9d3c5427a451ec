package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/election"
	"github.com/ipcmesh/ipcmesh/internal/testbin"
	"github.com/ipcmesh/ipcmesh/ipc"
)

// stuckWrite is the time tests give a write to a client that stopped
// reading (Server.streamWrite), against 30 s in use. The deadline is
// set before the write, so a goroutine kept off the CPU past it fails
// its write before a byte goes out, and the test meets a closed
// connection where it reads the answer's first line: 200 ms did so, once
// in tens of runs under -race beside other packages' tests (a write that
// timed out after 308 ms with nothing written, the CPUs busy).
const stuckWrite = time.Second

// face is a real mesh (a broker hosted by the test's own peer, on a free
// port, with a fresh data folder and secret) and a real HTTP face on it,
// served on 127.0.0.1.
type face struct {
	t   testing.TB
	cfg election.Config
	ctl *election.Peer // the test's unnamed peer: it hosts the broker and makes keys
	srv *Server
	ts  *httptest.Server
	url string
}

func newFace(t testing.TB, tweak func(*Options)) *face {
	t.Helper()
	return newFaceLimited(t, ipc.Limits{}, tweak)
}

// newFaceLimited is newFace on a broker with limits (its defaults where
// zero).
func newFaceLimited(t testing.TB, limits ipc.Limits, tweak func(*Options)) *face {
	t.Helper()
	return newFaceWith(t, func(c *election.Config) { c.Limits = limits }, tweak)
}

// newFaceWith is newFace on a broker whose configuration mesh changes
// first (its store's options, say).
func newFaceWith(t testing.TB, mesh func(*election.Config), tweak func(*Options)) *face {
	t.Helper()
	cfg := election.Config{Addr: testbin.FreeAddr(t), DataDir: t.TempDir(), Keys: testbin.RandomKeys(t)}
	if mesh != nil {
		mesh(&cfg)
	}
	ctx := ctxT(t)
	ctl, err := election.Join(ctx, cfg)
	if err != nil {
		t.Fatalf("join the mesh: %v", err)
	}
	t.Cleanup(func() { ctl.Close() })

	ts := httptest.NewUnstartedServer(nil)
	// The face is in the broker's process, as "ipcmesh broker --http"
	// runs it, unless the test says otherwise (overTCP).
	faceCfg := cfg
	faceCfg.Dial = ctl.Pipe
	opts := Options{Mesh: faceCfg, Addr: ts.Listener.Addr().String(), Version: "test"}
	if tweak != nil {
		tweak(&opts)
	}
	srv, err := New(ctx, opts)
	if err != nil {
		ts.Close()
		t.Fatalf("gateway.New: %v", err)
	}
	srv.ConfigureServer(ts.Config)
	ts.Start()
	t.Cleanup(func() {
		// Close first: it ends the streams a test left open, which
		// httptest's Close would wait for.
		if err := srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		ts.Close()
	})
	return &face{t: t, cfg: cfg, ctl: ctl, srv: srv, ts: ts, url: ts.URL}
}

// serveTLS serves the face a second time, on ln, over TLS with HTTP/2,
// as a face with --tls-cert does. Its client trusts its certificate.
func (f *face) serveTLS(ln net.Listener) *httptest.Server {
	ts := httptest.NewUnstartedServer(nil)
	f.srv.ConfigureServer(ts.Config)
	ts.Listener.Close()
	ts.Listener = ln
	ts.EnableHTTP2 = true
	ts.StartTLS()
	f.t.Cleanup(ts.Close)
	return ts
}

// overTCP makes the face reach its broker over TCP, as "ipcmesh serve
// --http" does, instead of through the broker's in-memory pipe.
func overTCP(o *Options) { o.Mesh.Dial = nil }

// forEachLink runs test with the face reaching its broker each way: the
// frames cross an in-memory pipe as values, and TCP as bytes.
func forEachLink(t *testing.T, test func(t *testing.T, link func(*Options))) {
	for _, l := range []struct {
		name string
		link func(*Options)
	}{{"pipe", nil}, {"tcp", overTCP}} {
		t.Run(l.name, func(t *testing.T) { test(t, l.link) })
	}
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// key makes an access key for name.
func (f *face) key(name string) string {
	f.t.Helper()
	r, err := f.ctl.CreateKey(ctxT(f.t), name, "test")
	if err != nil {
		f.t.Fatalf("create a key for %s: %v", name, err)
	}
	return r.Key
}

// peer joins the mesh as name, as a local assistant would.
func (f *face) peer(name string) *election.Peer {
	return f.peerIn(name, f.cfg.DataDir)
}

// peerIn joins as name from another data folder: another user's process,
// whose session the face's data folder holds no token for.
func (f *face) peerIn(name, dir string) *election.Peer {
	f.t.Helper()
	cfg := f.cfg
	cfg.DataDir = dir
	ctx := ctxT(f.t)
	p, err := election.Join(ctx, cfg)
	if err != nil {
		f.t.Fatalf("join: %v", err)
	}
	f.t.Cleanup(func() { p.Close() })
	if _, err := p.Register(ctx, name); err != nil {
		f.t.Fatalf("register %s: %v", name, err)
	}
	return p
}

// req is one HTTP request of a test.
type req struct {
	method, path, key string
	body              any // marshalled to JSON; a string or []byte is sent as is
	header            map[string]string
}

// do sends r and returns the response with its body read.
func (f *face) do(r req) (*http.Response, []byte) {
	f.t.Helper()
	var body io.Reader
	switch b := r.body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	case []byte:
		body = bytes.NewReader(b)
	case io.Reader:
		body = b
	default:
		j, err := json.Marshal(b)
		if err != nil {
			f.t.Fatal(err)
		}
		body = bytes.NewReader(j)
	}
	hr, err := http.NewRequestWithContext(ctxT(f.t), r.method, f.url+r.path, body)
	if err != nil {
		f.t.Fatal(err)
	}
	if body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	if r.key != "" {
		hr.Header.Set("Authorization", "Bearer "+r.key)
	}
	for k, v := range r.header {
		if k == "Host" {
			hr.Host = v
			continue
		}
		hr.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		f.t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatalf("%s %s: read the body: %v", r.method, r.path, err)
	}
	return resp, b
}

// ok sends r, wants status, and decodes the JSON answer into out (if not
// nil).
func (f *face) ok(r req, status int, out any) *http.Response {
	f.t.Helper()
	resp, b := f.do(r)
	if resp.StatusCode != status {
		f.t.Fatalf("%s %s: status %d, want %d; body %s", r.method, r.path, resp.StatusCode, status, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			f.t.Fatalf("%s %s: decode %s: %v", r.method, r.path, b, err)
		}
	}
	return resp
}

// apiError is the JSON of an error answer.
type apiError struct {
	Error struct {
		Code         string   `json:"code"`
		Message      string   `json:"message"`
		RetryAfterMS int64    `json:"retry_after_ms"`
		Suggestions  []string `json:"suggestions"`
	} `json:"error"`
}

// fails sends r and wants an error answer with status and code; it
// returns the error.
func (f *face) fails(r req, status int, code string) apiError {
	f.t.Helper()
	resp, b := f.do(r)
	var e apiError
	if err := json.Unmarshal(b, &e); err != nil {
		f.t.Fatalf("%s %s: status %d, body %q is not a JSON error: %v", r.method, r.path, resp.StatusCode, b, err)
	}
	if resp.StatusCode != status || e.Error.Code != code {
		f.t.Fatalf("%s %s: status %d code %q (%s), want %d %q", r.method, r.path, resp.StatusCode, e.Error.Code, e.Error.Message, status, code)
	}
	if e.Error.Message == "" {
		f.t.Errorf("%s %s: the error has no message", r.method, r.path)
	}
	return e
}
