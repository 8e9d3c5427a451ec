package main

import (
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestHooksActAsTheirSessionsName: two Claude Code sessions on one data
// folder, installed at user scope with --name builder, so that both have
// IPC_NAME=builder and hooks that say --as builder. The first registers
// builder; the second, finding it in use, registers builder-2. Each
// session's hooks show its own mail, not the other's, and once a session
// has ended its hooks act as --as says again.
func TestHooksActAsTheirSessionsName(t *testing.T) {
	t.Parallel()
	m := newMesh(t)
	const firstID, secondID = "0f0c4a55-1111-4d3c-9d9e-5a1f2b3c4d5e", "0f0c4a55-2222-4d3c-9d9e-5a1f2b3c4d5e"
	first := m.mcpClient(t, "IPC_NAME=builder", "CLAUDE_CODE_SESSION_ID="+firstID)
	second, _ := m.mcpProcess(t, "IPC_NAME=builder", "CLAUDE_CODE_SESSION_ID="+secondID)
	for _, s := range []struct {
		cs   *mcp.ClientSession
		name string
	}{{first, "builder"}, {second, "builder-2"}} {
		if text, isErr := assistantCall(t, s.cs, "register", map[string]any{"name": s.name}); isErr {
			t.Fatalf("register %s: %s", s.name, text)
		}
		if text, isErr := assistantCall(t, s.cs, "auto_check", map[string]any{"interval_minutes": 5}); isErr {
			t.Fatalf("auto_check for %s: %s", s.name, text)
		}
	}
	m.mustRun("send", "--as", "reviewer", "builder", "for the first session")
	m.mustRun("send", "--as", "reviewer", "builder-2", "for the second session")

	hook := func(session string) string {
		t.Helper()
		r := m.withEnv("CLAUDE_CODE_SESSION_ID="+session).runIn(`{"hook_event_name":"UserPromptSubmit"}`,
			"hook", "check", "--format", "claude", "--as", "builder")
		if r.code != 0 {
			t.Fatalf("hook check: %s", r)
		}
		return r.stdout
	}
	got := hook(secondID)
	wantIn(t, "the second session's hook", got, "for the second session", "builder-2")
	wantNotIn(t, "the second session's hook", got, "for the first session")

	// The second session ends: its hooks have no name of their own left,
	// and act as --as says.
	second.Close()
	got = hook(secondID)
	wantIn(t, "an ended session's hook", got, "for the first session")
}
