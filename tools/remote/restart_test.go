package remote_test

import (
	"bytes"
	"io"
	stdlog "log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/mcptest"
	"github.com/ipcmesh/ipcmesh/internal/testbin"
	"github.com/ipcmesh/ipcmesh/tools/remote"
)

// TestBridgeWaitsForTheFaceToComeBack: the face handles a send, and goes
// away before its answer leaves; for a while nothing listens at its
// address, as while it restarts. The bridge's new try waits for the face
// to listen again, and bob gets the message once. The one new try was
// made at once, found the port closed, and the call failed.
func TestBridgeWaitsForTheFaceToComeBack(t *testing.T) {
	cfg := mcptest.MeshConfig(t)
	alice := mcptest.JoinAs(t, cfg, "alice")
	bob := mcptest.JoinAs(t, cfg, "bob")
	face := mcptest.Face(alice, true)
	// The face listens again at this address below, while the bridge
	// redials it: a port below those the system hands out for outgoing
	// connections (freeport).
	addr := testbin.FreeAddr(t)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	var gone atomic.Bool
	first := &http.Server{ErrorLog: stdlog.New(io.Discard, "", 0)} // the abort is the point
	first.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		if bytes.Contains(body, []byte(`"tools/call"`)) && gone.CompareAndSwap(false, true) {
			face.ServeHTTP(httptest.NewRecorder(), r) // handled, answer lost
			// Gone as a face whose process ended is: the listener and
			// every connection closed. Closing only the idle ones left a
			// connection that was finishing an answer just then to serve
			// the bridge's next connect, and the call after it found the
			// port closed without waiting.
			first.Close()
			panic(http.ErrAbortHandler)
		}
		face.ServeHTTP(w, r)
	})
	go first.Serve(ln)
	t.Cleanup(func() { first.Close() })

	logs := new(testbin.Buffer)
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, _ := bridged(t, remote.Options{URL: "http://" + addr, Key: mcptest.Key, Logger: log})
	sent := make(chan string, 1)
	go func() {
		text, _ := c.Call("send", map[string]any{"to": "bob", "content": "once, after a restart"})
		sent <- text
	}()
	testbin.Eventually(t, 30*time.Second, "the bridge to find the face gone", func() bool {
		return strings.Contains(logs.String(), "not back yet")
	})
	ln2, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen at the face's address again: %v", err)
	}
	second := &http.Server{Handler: face}
	go second.Serve(ln2)
	t.Cleanup(func() { second.Close() })

	mcptest.Contains(t, "the send", mcptest.Await(t, sent, "the send's answer"), "Delivered to bob")
	r, err := bob.Check(t.Context(), 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Messages) != 1 || r.Messages[0].Content != "once, after a restart" {
		t.Fatalf("bob's check after a send the face restarted under: %+v", r.Messages)
	}
}
