//go:build unix

package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/election"
	"github.com/ipcmesh/ipcmesh/gateway"
	"github.com/ipcmesh/ipcmesh/internal/testbin"
	"github.com/ipcmesh/ipcmesh/ipc"
)

// startBrokerProcess runs "ipcmesh broker" on a free port with a fresh
// secret and data folder, waits for its "serving" line, and returns the
// process, the config of a peer of its mesh with a data folder of its own,
// and that of a peer of the broker's data folder, which may make access
// keys. The broker is killed when the test ends.
func startBrokerProcess(t *testing.T) (cmd *exec.Cmd, peer, owner election.Config) {
	t.Helper()
	secret, keys := testbin.RandomSecret(t)
	addr := testbin.FreeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	dir := t.TempDir()
	cmd = exec.Command(ipcmeshBin, "broker")
	cmd.Env = append(testbin.CleanEnviron(), "IPC_PORT="+port, "IPC_DATA_DIR="+dir, "IPC_SHARED_SECRET="+secret)
	out := testbin.NewStream()
	cmd.Stdout = out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		out.Finish()
		close(exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGCONT)
		cmd.Process.Kill()
		<-exited
	})
	if _, err := out.WaitLine("serving", 30*time.Second); err != nil {
		t.Fatalf("ipcmesh broker did not serve: %v", err)
	}
	return cmd, election.Config{Addr: addr, DataDir: t.TempDir(), Keys: keys}, election.Config{Addr: addr, DataDir: dir, Keys: keys}
}

// TestStoppedBrokerFailsSendWith503: a REST send to a broker that is
// stopped (as Ctrl-Z stops it) gives up once the answer is overdue, with a
// 503 that names the broker's pid and says what to do, and Retry-After.
func TestStoppedBrokerFailsSendWith503(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	broker, cfg, owner := startBrokerProcess(t)
	// The bound is lowered so the test waits 1 s, not the default 10 s.
	cfg.AnswerTimeout, owner.AnswerTimeout = time.Second, time.Second
	ctl, err := election.Join(ctx, owner)
	if err != nil {
		t.Fatal(err)
	}
	defer ctl.Close()
	created, err := ctl.CreateKey(ctx, "alice", "test")
	if err != nil {
		t.Fatal(err)
	}
	url := serveFace(t, ctx, gateway.Options{Mesh: cfg})

	send := func(content string) (*http.Response, []byte) {
		t.Helper()
		body, _ := json.Marshal(ipc.Outgoing{To: "bob", Content: content})
		return keyed(t, ctx, "POST", url+"/api/v1/messages", created.Key, body)
	}
	if resp, b := send("before"); resp.StatusCode != 201 {
		t.Fatalf("send before the stop: %d %s", resp.StatusCode, b)
	}

	testbin.Stop(t, broker.Process.Pid, 30*time.Second)
	resp, b := send("during")
	unavailable(t, "send to a stopped broker", resp, b, "pid "+strconv.Itoa(broker.Process.Pid), "did not answer", "kill -CONT")
}

// serveFace serves the face opts describe (its Addr and, if unset, its
// Version are set here) on a server of its own until the test ends, and
// returns its URL.
func serveFace(t *testing.T, ctx context.Context, opts gateway.Options) string {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	opts.Addr = ts.Listener.Addr().String()
	if opts.Version == "" {
		opts.Version = "test"
	}
	srv, err := gateway.New(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	srv.ConfigureServer(ts.Config)
	ts.Start()
	t.Cleanup(func() {
		srv.Close()
		ts.Close()
	})
	return ts.URL
}

// keyed sends a request with the bearer key, and a JSON body unless body
// is nil, and returns the answer with its body read.
func keyed(t *testing.T, ctx context.Context, method, url, key string, body []byte) (*http.Response, []byte) {
	t.Helper()
	r, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	r.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read the answer: %v", method, url, err)
	}
	return resp, b
}

// unavailable fails the test unless resp, with body b, is a 503
// unavailable with Retry-After whose message says each of says, and
// returns the message.
func unavailable(t *testing.T, what string, resp *http.Response, b []byte, says ...string) string {
	t.Helper()
	var e struct {
		Error struct{ Code, Message string }
	}
	json.Unmarshal(b, &e)
	if resp.StatusCode != 503 || e.Error.Code != "unavailable" {
		t.Fatalf("%s: %d %s, want 503 unavailable", what, resp.StatusCode, b)
	}
	if resp.Header.Get("Retry-After") == "" {
		t.Errorf("the 503 has no Retry-After")
	}
	for _, want := range says {
		if !strings.Contains(e.Error.Message, want) {
			t.Errorf("the error %q does not say %q", e.Error.Message, want)
		}
	}
	return e.Error.Message
}
