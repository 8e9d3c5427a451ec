package gateway

import (
	"bytes"
	"context"
	"io"
	stdlog "log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ipcmesh/ipcmesh/internal/mcptest"
	"github.com/ipcmesh/ipcmesh/tools/remote"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// front serves the face f at another address, as a proxy on the way
// would, handing each request with its body to intercept first: if that
// returns true, it has dealt with the request itself.
func front(t *testing.T, f *face, intercept func(w http.ResponseWriter, r *http.Request, body []byte) bool) string {
	t.Helper()
	h := f.srv.Handler()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.Host = f.ts.Listener.Addr().String() // the name the face answers to
		if intercept == nil || !intercept(w, r, body) {
			h.ServeHTTP(w, r)
		}
	}))
	ts.Config.ErrorLog = stdlog.New(io.Discard, "", 0) // aborts are the point
	t.Cleanup(ts.Close)
	return ts.URL
}

// bridge runs `ipcmesh mcp --remote url` in the test's process, with key,
// and connects a client to it.
func bridge(t *testing.T, url, key string) *mcptest.Client {
	t.Helper()
	ct, st := mcp.NewInMemoryTransports()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		remote.Serve(ctx, remote.Options{URL: url, Key: key}, st)
	}()
	t.Cleanup(func() { cancel(); <-done })
	return mcptest.Connect(t, ct, "")
}

// A check the face answered, whose answer was lost on the way, marked the
// mail it returned read. The bridge sends the call again: the retry gets
// the same answer, so the model still sees the mail.
func TestBridgedCheckWhoseAnswerWasLost(t *testing.T) {
	f := newFace(t, nil)
	key := f.key("alice")
	bob := f.peer("bob")
	var cut atomic.Bool
	url := front(t, f, func(w http.ResponseWriter, r *http.Request, body []byte) bool {
		if !bytes.Contains(body, []byte(`"tools/call"`)) || !bytes.Contains(body, []byte(`"check"`)) || !cut.CompareAndSwap(false, true) {
			return false
		}
		f.srv.Handler().ServeHTTP(httptest.NewRecorder(), r) // answered, and the answer lost
		panic(http.ErrAbortHandler)
	})
	c := bridge(t, url, key)
	if _, err := bob.Send(ctxT(t), "alice", "the deploy key is in vault path X"); err != nil {
		t.Fatal(err)
	}
	mcptest.Contains(t, "check through the bridge", c.OK("check", nil), "1 new message for alice", "From bob", "vault path X")
	if !cut.Load() {
		t.Fatal("no check's answer was lost: the test tested nothing")
	}
	// A later check is a new call: the mail was read once.
	mcptest.Contains(t, "the next check", c.OK("check", nil), "No new messages for alice")
}

// A request the face refuses is its answer, not a face out of reach: the
// model reads the face's words, and the request is not sent twice.
func TestBridgePassesOnTheFacesRefusal(t *testing.T) {
	f := newFace(t, func(o *Options) { o.MaxBody = 64 << 10 })
	key := f.key("alice")
	f.peer("bob")
	var large atomic.Int32
	url := front(t, f, func(w http.ResponseWriter, r *http.Request, body []byte) bool {
		if len(body) > 64<<10 {
			large.Add(1)
		}
		return false
	})
	c := bridge(t, url, key)
	got := c.Fails("send", map[string]any{"to": "bob", "content": strings.Repeat("x", 100<<10)})
	mcptest.Contains(t, "an oversized send", got, "refused the request", "413", "over the limit of 65536 bytes", "in pieces")
	mcptest.NotContains(t, "an oversized send", got, "cannot reach")
	if n := large.Load(); n != 1 {
		t.Errorf("the oversized request reached the face %d times, want once", n)
	}
	mcptest.Contains(t, "a send after it", c.OK("send", map[string]any{"to": "bob", "content": "small"}), "Delivered to bob")
}

// A key whose name was renamed away is refused by the face with what to do
// at the end of its words; the bridge passes them on whole, advice and
// all, rather than cut short.
func TestBridgePassesOnTheWholeRefusal(t *testing.T) {
	f := newFace(t, nil)
	left := f.leaves()
	key := f.key("carol")
	f.peer("bob")
	c := bridge(t, f.url, key)
	mcptest.Contains(t, "a send", c.OK("send", map[string]any{"to": "bob", "content": "hello"}), "Delivered to bob")
	// The data folder holds the face's token for carol: this joins its
	// session, and renames it away.
	if _, err := f.peer("carol").Rename(ctxT(t), "carol2"); err != nil {
		t.Fatal(err)
	}
	f.awaitLeave(left, "carol")
	got := c.Fails("send", map[string]any{"to": "bob", "content": "as carol again"})
	mcptest.Contains(t, "a send after the rename", got, "409", "carol was renamed to carol2", "ipcmesh key create carol2", "which ends the forward")
	mcptest.NotContains(t, "a send after the rename", got, "...")
}
