package remote_test

import (
	"context"
	"io"
	stdlog "log"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/mcptest"
	"github.com/ipcmesh/ipcmesh/internal/testbin"
	"github.com/ipcmesh/ipcmesh/tools/remote"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestCallWhileTheFaceIsDown: a call made while nothing listens at the
// face's address (the face stopped, or moved to another port) fails at
// once with a tool error the model reads, which says what is wrong and
// what to do, and the bridge serves again once the face is back. The call
// failed with a JSON-RPC error (-32005) instead, whose text only said
// "connection refused" under the go-sdk's own words; and then, for the
// first call after the face went, only after 30 s of waiting for the face
// to come back, though the request had never reached it.
func TestCallWhileTheFaceIsDown(t *testing.T) {
	cfg := mcptest.MeshConfig(t)
	alice := mcptest.JoinAs(t, cfg, "alice")
	bob := mcptest.JoinAs(t, cfg, "bob")
	face := mcptest.Face(alice, true)
	// The face listens again at this address below: a port below those
	// the system hands out for outgoing connections, as the bridge's own
	// redials to it are (freeport).
	addr := testbin.FreeAddr(t)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	first := &http.Server{Handler: face, ErrorLog: stdlog.New(io.Discard, "", 0)}
	go first.Serve(ln)
	t.Cleanup(func() { first.Close() })

	var conns dialled
	c, _ := bridged(t, remote.Options{URL: "http://" + addr, Key: mcptest.Key, HTTPClient: &http.Client{Transport: &http.Transport{DialContext: conns.dial}}})
	c.OK("list_instances", nil)
	first.Close() // gone as a face whose process ended
	// The bridge sees the face close the connection it keeps, in a
	// moment of its own; the call below is made after that, so that it
	// dials. Made before, it goes out on that connection and is answered
	// by its end (EOF): an answer lost, which waits for the face to come
	// back, as TestBridgeWaitsForTheFaceToComeBack has it.
	conns.awaitClosed(t, 30*time.Second)

	// Far more than the answer takes; it took 30 s.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	res, err := c.Session.CallTool(ctx, &mcp.CallToolParams{Name: "send", Arguments: map[string]any{"to": "bob", "content": "no face"}})
	if err != nil {
		t.Fatalf("a call while the face is down: no tool error within 10 s: %v", err)
	}
	if !res.IsError {
		t.Fatalf("a call while the face is down succeeded: %s", mcptest.ResultText(res))
	}
	got := mcptest.ResultText(res)
	mcptest.Contains(t, "a call while the face is down", got,
		"cannot call send", "cannot reach the ipcmesh HTTP face at http://"+addr+"/mcp", "connection refused",
		"ipcmesh serve --http", "--remote", "next call")
	mcptest.NotContains(t, "a call while the face is down", got, `calling "initialize"`, "rejected by transport")

	ln2, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen at the face's address again: %v", err)
	}
	second := &http.Server{Handler: face}
	go second.Serve(ln2)
	t.Cleanup(func() { second.Close() })
	mcptest.Contains(t, "a send once the face is back", c.OK("send", map[string]any{"to": "bob", "content": "back"}), "Delivered to bob")
	r, err := bob.Check(t.Context(), 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	var contents []string
	for _, m := range r.Messages {
		contents = append(contents, m.Content)
	}
	if strings.Join(contents, "|") != "back" {
		t.Fatalf("bob got %q, want the one send the bridge acknowledged", contents)
	}
}

// dialled keeps the connections dialled through it, to tell when the
// transport has closed them all.
type dialled struct {
	mu    sync.Mutex
	conns []*closeNotifier
}

// dial dials as net.Dialer does and keeps the connection.
func (d *dialled) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := new(net.Dialer).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	n := &closeNotifier{Conn: c, closed: make(chan struct{})}
	d.mu.Lock()
	d.conns = append(d.conns, n)
	d.mu.Unlock()
	return n, nil
}

// awaitClosed fails the test unless every connection dialled so far is
// closed within timeout.
func (d *dialled) awaitClosed(t *testing.T, timeout time.Duration) {
	t.Helper()
	d.mu.Lock()
	conns := slices.Clone(d.conns)
	d.mu.Unlock()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for i, c := range conns {
		select {
		case <-c.closed:
		case <-deadline.C:
			t.Fatalf("connection %d of %d to the face (%s) is still open %v after the face closed it", i+1, len(conns), c.LocalAddr(), timeout)
		}
	}
}

// closeNotifier is a connection that says when it is closed.
type closeNotifier struct {
	net.Conn
	once   sync.Once
	closed chan struct{}
}

func (c *closeNotifier) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.Conn.Close()
}
