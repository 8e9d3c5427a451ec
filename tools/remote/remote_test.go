package remote_test

// The bridge (`ipcmesh mcp --remote`) between a go-sdk client and a bound
// server behind TLS, on a private mesh, in-process and as the command.

import (
	"bytes"
	"context"
	"encoding/pem"
	"errors"
	"io"
	stdlog "log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/mcptest"
	"github.com/ipcmesh/ipcmesh/internal/testbin"
	"github.com/ipcmesh/ipcmesh/tools"
	"github.com/ipcmesh/ipcmesh/tools/remote"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// binary is the ipcmesh command built for these tests.
var binary string

func TestMain(m *testing.M) { os.Exit(testbin.Main(m, &binary, raceEnabled)) }

// bridged runs Serve with opts and connects a client to it. The channel
// gets what Serve returns.
func bridged(t *testing.T, opts remote.Options) (*mcptest.Client, <-chan error) {
	t.Helper()
	ct, st := mcp.NewInMemoryTransports()
	done := make(chan error, 1)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { done <- remote.Serve(ctx, opts, st) }()
	t.Cleanup(cancel)
	return mcptest.Connect(t, ct, ""), done
}

// bridgeFails runs Serve with opts, which must fail, and returns its error.
func bridgeFails(t *testing.T, opts remote.Options) string {
	t.Helper()
	_, st := mcp.NewInMemoryTransports()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	err := remote.Serve(ctx, opts, st)
	if err == nil {
		t.Fatalf("Serve(%s) succeeded, want an error", opts.URL)
	}
	return err.Error()
}

func TestBridge(t *testing.T) {
	cfg := mcptest.MeshConfig(t)
	alice := mcptest.JoinAs(t, cfg, "alice")
	bob := mcptest.JoinAs(t, cfg, "bob")
	ts := httptest.NewTLSServer(mcptest.Face(alice, true))
	defer ts.Close()
	direct := mcptest.ConnectHTTP(t, ts.URL, ts.Client(), "")
	c, done := bridged(t, remote.Options{URL: ts.URL, Key: mcptest.Key, HTTPClient: ts.Client(), Version: "test"})
	ctx := t.Context()

	dt, dp, dr := direct.Listings()
	bt, bp, br := c.Listings()
	if bt != dt {
		t.Errorf("tools/list through the bridge differs from the face's:\nbridge %s\nface   %s", bt, dt)
	}
	if bp != dp || br != dr {
		t.Errorf("prompts or resources differ:\nbridge %s %s\nface   %s %s", bp, br, dp, dr)
	}
	if got, want := c.Session.InitializeResult().Instructions, direct.Session.InitializeResult().Instructions; got != want {
		t.Errorf("instructions through the bridge %q, want the face's %q", got, want)
	}

	mcptest.Contains(t, "register", c.OK("register", map[string]any{"name": "alice"}), "You are alice")
	mcptest.Contains(t, "register bob", c.Fails("register", map[string]any{"name": "bob"}), "ipcmesh key create bob")
	mcptest.Contains(t, "send", c.OK("send", map[string]any{"to": "bob", "content": "over the bridge"}), "Delivered to bob")
	r, err := bob.Check(ctx, 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Messages) != 1 || r.Messages[0].From != "alice" || r.Messages[0].Content != "over the bridge" {
		t.Fatalf("bob's check: %+v", r.Messages)
	}

	// The face's progress reaches the client, for the client's token. It
	// is a number, as many clients make it, which JSON decodes to float64.
	waited := mcptest.WaitingCheck(ctx, c.Session, 7)
	select {
	case tok := <-c.Progress:
		if tok != float64(7) {
			t.Fatalf("progress for token %v (%[1]T), want 7", tok)
		}
	case r := <-waited:
		t.Fatalf("check returned before any mail: %v %+v", r.Err, r.Res)
	}
	if _, err := bob.Send(ctx, "alice", "answer"); err != nil {
		t.Fatal(err)
	}
	got := mcptest.Await(t, waited, "the bridged waiting check")
	if got.Err != nil || got.Res.IsError {
		t.Fatalf("bridged waiting check: %v %s", got.Err, mcptest.ResultText(got.Res))
	}
	mcptest.Contains(t, "bridged waiting check", mcptest.ResultText(got.Res), "From bob", "answer")

	p, err := c.Session.GetPrompt(ctx, &mcp.GetPromptParams{Name: "ipcmesh-etiquette"})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Messages) == 0 || !strings.Contains(p.Messages[0].Content.(*mcp.TextContent).Text, "wait_seconds") {
		t.Errorf("etiquette prompt through the bridge: %+v", p.Messages)
	}
	if _, err := c.Session.GetPrompt(ctx, &mcp.GetPromptParams{Name: "nope"}); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("unknown prompt through the bridge: %v, want the face's error", err)
	}
	inbox, err := c.Session.ReadResource(ctx, &mcp.ReadResourceParams{URI: "ipc://inbox"})
	if err != nil {
		t.Fatal(err)
	}
	mcptest.Contains(t, "inbox", inbox.Contents[0].Text, "No unread messages for alice")

	c.Session.Close()
	if err := mcptest.Await(t, done, "Serve to return"); err != nil {
		t.Errorf("Serve after the client left: %v", err)
	}
}

func TestBridgeErrors(t *testing.T) {
	cfg := mcptest.MeshConfig(t)
	alice := mcptest.JoinAs(t, cfg, "alice")
	ts := httptest.NewTLSServer(mcptest.Face(alice, true))
	defer ts.Close()

	got := bridgeFails(t, remote.Options{URL: ts.URL + "/mcp/", Key: "ipk1_wrong_key", HTTPClient: ts.Client()})
	mcptest.Contains(t, "bad key", got, ts.URL+"/mcp", "refused the key", "unknown or revoked key", "IPC_KEY", "ipcmesh key create NAME")
	mcptest.NotContains(t, "bad key", got, "ipk1_wrong_key")

	mcptest.Contains(t, "no key", bridgeFails(t, remote.Options{URL: ts.URL, HTTPClient: ts.Client()}), "IPC_KEY", "--key-file")
	mcptest.Contains(t, "untrusted certificate", bridgeFails(t, remote.Options{URL: ts.URL, Key: mcptest.Key}), ts.URL+"/mcp", "not trusted", "--ca")
	got = bridgeFails(t, remote.Options{URL: strings.Replace(ts.URL, "https://", "", 1) + "/k/" + mcptest.Key + "/mcp", Key: mcptest.Key})
	mcptest.Contains(t, "key in the URL", got, "IPC_KEY")
	mcptest.NotContains(t, "key in the URL", got, mcptest.Key)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gone := "https://" + ln.Addr().String()
	ln.Close()
	mcptest.Contains(t, "unreachable", bridgeFails(t, remote.Options{URL: gone, Key: mcptest.Key}), "cannot reach", gone+"/mcp")
}

// TestBridgeReconnects: the face restarts, losing its sessions; the next
// call through the bridge connects again and goes through, once.
func TestBridgeReconnects(t *testing.T) {
	cfg := mcptest.MeshConfig(t)
	alice := mcptest.JoinAs(t, cfg, "alice")
	bob := mcptest.JoinAs(t, cfg, "bob")
	// A stateful face, whose sessions die with it when it restarts: the
	// session the bridge holds becomes unknown.
	var (
		current atomic.Pointer[http.Handler]
		mu      sync.Mutex
		servers []*mcp.Server // of the running face
	)
	restart := func() {
		mu.Lock()
		old := servers
		servers = nil
		mu.Unlock()
		for _, srv := range old {
			for ss := range srv.Sessions() {
				ss.Close()
			}
		}
		var h http.Handler = mcptest.RequireKey(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server {
			srv := tools.NewBound(alice, tools.BoundOptions{})
			mu.Lock()
			servers = append(servers, srv)
			mu.Unlock()
			return srv
		}, nil))
		current.Store(&h)
	}
	restart()
	t.Cleanup(restart) // end the sessions of the last one too
	ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		(*current.Load()).ServeHTTP(w, r)
	}))
	defer ts.Close()
	logs := new(testbin.Buffer)
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, _ := bridged(t, remote.Options{URL: ts.URL, Key: mcptest.Key, HTTPClient: ts.Client(), Logger: log})

	c.OK("list_instances", nil)
	restart()
	mcptest.Contains(t, "send after the restart", c.OK("send", map[string]any{"to": "bob", "content": "after the restart"}), "Delivered to bob")
	r, err := bob.Check(t.Context(), 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Messages) != 1 || r.Messages[0].Content != "after the restart" {
		t.Fatalf("bob's check: %+v", r.Messages)
	}
	mcptest.Contains(t, "the bridge's log", logs.String(), "connecting again")
	mcptest.NotContains(t, "the bridge's log", logs.String(), mcptest.Key)
}

// TestBridgeRetriedSendArrivesOnce: the face handles a send but the
// connection breaks before its answer arrives. The bridge connects again
// and sends the call once more, and bob still gets the message once.
func TestBridgeRetriedSendArrivesOnce(t *testing.T) {
	cfg := mcptest.MeshConfig(t)
	alice := mcptest.JoinAs(t, cfg, "alice")
	bob := mcptest.JoinAs(t, cfg, "bob")
	real := mcptest.Face(alice, false)
	var cut atomic.Bool
	ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		if bytes.Contains(body, []byte(`"tools/call"`)) && bytes.Contains(body, []byte(`"send"`)) && cut.CompareAndSwap(false, true) {
			real.ServeHTTP(httptest.NewRecorder(), r) // handled, answer lost
			panic(http.ErrAbortHandler)
		}
		real.ServeHTTP(w, r)
	}))
	ts.Config.ErrorLog = stdlog.New(io.Discard, "", 0) // the abort is the point
	defer ts.Close()
	c, _ := bridged(t, remote.Options{URL: ts.URL, Key: mcptest.Key, HTTPClient: ts.Client()})

	mcptest.Contains(t, "send", c.OK("send", map[string]any{"to": "bob", "content": "only once"}), "Delivered to bob")
	if !cut.Load() {
		t.Fatal("the face never cut a send's answer")
	}
	r, err := bob.Check(t.Context(), 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Messages) != 1 || r.Messages[0].Content != "only once" {
		t.Fatalf("bob's check after a retried send: %+v", r.Messages)
	}

	// A key that is not an id is refused with the reason, not ignored.
	res, err := c.Session.CallTool(t.Context(), &mcp.CallToolParams{
		Name: "send", Arguments: map[string]any{"to": "bob", "content": "x"},
		Meta: mcp.Meta{"ipcmesh/idempotency-key": "no spaces allowed"},
	})
	if err != nil {
		t.Fatal(err)
	}
	mcptest.Contains(t, "send with a bad idempotency key", mcptest.ResultText(res), "idempotency-key", "letters, digits")
}

// TestRemoteCommand runs `ipcmesh mcp --remote` as an assistant would,
// with the key and the face's CA given either way.
func TestRemoteCommand(t *testing.T) {
	cfg := mcptest.MeshConfig(t)
	alice := mcptest.JoinAs(t, cfg, "alice")
	bob := mcptest.JoinAs(t, cfg, "bob")
	ts := httptest.NewTLSServer(mcptest.Face(alice, true))
	defer ts.Close()
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	keyFile := filepath.Join(dir, "key")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, []byte("  "+mcptest.Key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	command := func(env []string, args ...string) *exec.Cmd {
		cmd := exec.Command(binary, append([]string{"mcp", "--remote", ts.URL}, args...)...)
		cmd.Env = append(testbin.CleanEnviron(), env...)
		if raceEnabled {
			cmd.Env = append(cmd.Env, "GORACE=atexit_sleep_ms=0")
		}
		return cmd
	}

	for _, tc := range []struct {
		name string
		cmd  *exec.Cmd
	}{
		{"IPC_KEY and --ca", command([]string{"IPC_KEY=" + mcptest.Key}, "--ca", caFile)},
		{"--key-file and IPC_CA_FILE", command([]string{"IPC_CA_FILE=" + caFile}, "--key-file", keyFile)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stderr := new(testbin.Buffer)
			tc.cmd.Stderr = stderr
			c := mcptest.Connect(t, &mcp.CommandTransport{Command: tc.cmd}, "")
			mcptest.Contains(t, "send", c.OK("send", map[string]any{"to": "bob", "content": tc.name}), "Delivered to bob")
			r, err := bob.Check(t.Context(), 10, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Messages) != 1 || r.Messages[0].Content != tc.name {
				t.Fatalf("bob's check: %+v", r.Messages)
			}
			if _, err := bob.Ack(t.Context(), []string{r.Messages[0].ID}); err != nil {
				t.Fatal(err)
			}
			if err := c.Session.Close(); err != nil {
				t.Errorf("the bridge did not end cleanly when stdin closed: %v\nstderr:\n%s", err, stderr)
			}
			if strings.Contains(stderr.String(), mcptest.Key) {
				t.Errorf("the key shows on stderr:\n%s", stderr)
			}
		})
	}

	out, err := command(nil).CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("without a key: %v, want exit status 1\n%s", err, out)
	}
	mcptest.Contains(t, "without a key", string(out), "IPC_KEY", "--key-file")
}
