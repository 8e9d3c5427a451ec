package cli

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/election"
	"github.com/ipcmesh/ipcmesh/ipc"
)

// peerWith is peer with extra settings (KEY=VALUE) of its own: the one
// that hosts the broker decides its limits.
func (m *hookMesh) peerWith(name string, extra ...string) *election.Peer {
	m.t.Helper()
	cfg, err := election.FromEnv(m.getenv(extra...))
	if err != nil {
		m.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := election.Join(ctx, cfg)
	if err != nil {
		m.t.Fatalf("join: %v", err)
	}
	m.t.Cleanup(func() { p.Close() })
	if _, err := p.Register(ctx, name); err != nil {
		m.t.Fatalf("register %s: %v", name, err)
	}
	return p
}

// TestBroadcastSaysWhomItMissed fills inboxes of one message each and
// broadcasts: a copy refused is named on stderr and the exit status is 1,
// whether the broadcast reached no one or some; only a mesh with nobody
// else in it is "nobody else is registered", exit 0.
func TestBroadcastSaysWhomItMissed(t *testing.T) {
	m := newHookMesh(t)
	const inboxCap = "IPC_INBOX_CAP=1"
	broadcast := func(args ...string) hookResult {
		t.Helper()
		e, out, errb := m.env("", inboxCap)
		code := Run(e, "broadcast", append([]string{"--as", "alice"}, args...))
		return hookResult{code, out.String(), errb.String()}
	}

	r := broadcast("anyone?")
	if r.code != 0 || !strings.Contains(r.stdout, "nobody else is registered") || r.stderr != "" {
		t.Errorf("broadcast with nobody else: exit %d, stdout %q, stderr %q; want exit 0 and nobody else is registered", r.code, r.stdout, r.stderr)
	}

	bob := m.peerWith("bob", inboxCap)
	m.peerWith("carol", inboxCap)
	if r := broadcast("first"); r.code != 0 || !strings.Contains(r.stdout, "broadcast to 2: bob, carol") || r.stderr != "" {
		t.Fatalf("first broadcast: exit %d, stdout %q, stderr %q; want exit 0 and both reached", r.code, r.stdout, r.stderr)
	}

	// Both inboxes are full: the broadcast reaches no one.
	r = broadcast("second")
	if r.code != 1 || r.stdout != "" {
		t.Errorf("broadcast into full inboxes: exit %d, stdout %q; want exit 1 and nothing on stdout", r.code, r.stdout)
	}
	for _, want := range []string{
		"as alice: the broadcast reached none of its 2 recipients",
		"ipcmesh broadcast: not delivered to bob: the inbox of bob is full",
		"ipcmesh broadcast: not delivered to carol: the inbox of carol is full",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("broadcast into full inboxes: stderr %q; want %q", r.stderr, want)
		}
	}
	r = broadcast("second", "--json")
	var res ipc.BroadcastResult
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || r.code != 1 || len(res.Failed) != 2 || !strings.Contains(r.stderr, "not delivered to bob") {
		t.Errorf("broadcast --json into full inboxes: exit %d, stdout %q (%v), stderr %q; want exit 1, the JSON with both failed, and the failures on stderr", r.code, r.stdout, err, r.stderr)
	}

	// bob reads his: the next broadcast reaches him, not carol.
	got, err := bob.Check(hookCtx(t), 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := ackAll(hookCtx(t), bob, got.Messages); err != nil {
		t.Fatal(err)
	}
	r = broadcast("third")
	if r.code != 1 || !strings.Contains(r.stdout, "as alice: broadcast to 1: bob") || strings.Contains(r.stdout, "carol") {
		t.Errorf("broadcast into carol's full inbox: exit %d, stdout %q; want exit 1 and bob reached on stdout", r.code, r.stdout)
	}
	if !strings.Contains(r.stderr, "not delivered to carol: the inbox of carol is full") || strings.Contains(r.stderr, "bob") {
		t.Errorf("broadcast into carol's full inbox: stderr %q; want carol's failure alone", r.stderr)
	}
}
