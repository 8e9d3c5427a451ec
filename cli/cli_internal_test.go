package cli

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/election"
	"github.com/ipcmesh/ipcmesh/ipc"
)

// The mesh's errors state the facts in the protocol's terms; the command
// line names the command or the setting that helps.
func TestErrorsNameCommandsAndSettings(t *testing.T) {
	m := newHookMesh(t)
	cfg, err := election.FromEnv(m.getenv("IPC_MAX_MESSAGE_BYTES=1000", "IPC_MAX_FRAME_BYTES=70000"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := election.Join(ctx, cfg)
	if err != nil {
		t.Fatalf("join: %v", err)
	}
	defer p.Close()

	// A request that needs a name, on a peer that has none.
	err = p.Call(ctx, ipc.OpCheck, ipc.CheckRequest{}, nil)
	if ipcmesh.CodeOf(err) != ipcmesh.CodeNotRegistered {
		t.Fatalf("check without a name: %v, want not_registered", err)
	}
	if got := oneLine(err); !strings.Contains(got, "ipcmesh register NAME") {
		t.Errorf("check without a name says %q; want it to name ipcmesh register", got)
	}

	// A request over the frame limit, refused by the client itself.
	if _, err := p.Register(ctx, "big"); err != nil {
		t.Fatal(err)
	}
	_, err = p.Send(ctx, "big", strings.Repeat("x", 80000))
	if ipcmesh.CodeOf(err) != ipcmesh.CodeTooLarge {
		t.Fatalf("a send over the frame limit: %v, want too_large", err)
	}
	if got := oneLine(err); !strings.Contains(got, "IPC_MAX_MESSAGE_BYTES") {
		t.Errorf("a send over the frame limit says %q; want it to name IPC_MAX_MESSAGE_BYTES", got)
	}
}

// The demo's failover step says what it does in the words of the system
// it runs on: Windows has no kill -9, and its users end a process with
// taskkill.
func TestKillStepSpeaksTheSystemsWords(t *testing.T) {
	for goos, want := range map[string]string{"linux": "kill -9", "darwin": "kill -9", "windows": "taskkill /F"} {
		step := killStep(goos)
		if !strings.Contains(step, want) || goos == "windows" && strings.Contains(step, "kill -9") {
			t.Errorf("on %s the failover step reads %q; want it to say %q", goos, step, want)
		}
	}
}
