package main

import (
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestHooksActAsTheirSessionsName: two Claude Code sessions on one data
// folder, installed at user scope with --name builder, so that both have
// IPC_NAME=builder and hooks that say --as builder. The first registers
// builder; the second, finding it in use, registers builder-2. Each
// session's hooks show its own mail, never the other's: before the second
// has a name, and after it has ended, its hooks have nothing to show.
func TestHooksActAsTheirSessionsName(t *testing.T) {
	t.Parallel()
	m := newMesh(t)
	const firstID, secondID = "0f0c4a55-1111-4d3c-9d9e-5a1f2b3c4d5e", "0f0c4a55-2222-4d3c-9d9e-5a1f2b3c4d5e"
	first := m.mcpClient(t, "IPC_NAME=builder", "CLAUDE_CODE_SESSION_ID="+firstID)
	second, _ := m.mcpProcess(t, "IPC_NAME=builder", "CLAUDE_CODE_SESSION_ID="+secondID)
	register := func(cs *mcp.ClientSession, name string) {
		t.Helper()
		if text, isErr := assistantCall(t, cs, "register", map[string]any{"name": name}); isErr {
			t.Fatalf("register %s: %s", name, text)
		}
		if text, isErr := assistantCall(t, cs, "auto_check", map[string]any{"interval_minutes": 5}); isErr {
			t.Fatalf("auto_check for %s: %s", name, text)
		}
	}
	hook := func(session string) string {
		t.Helper()
		r := m.withEnv("CLAUDE_CODE_SESSION_ID="+session).runIn(`{"hook_event_name":"UserPromptSubmit"}`,
			"hook", "check", "--format", "claude", "--as", "builder")
		if r.code != 0 {
			t.Fatalf("hook check: %s", r)
		}
		return r.stdout
	}

	register(first, "builder")
	m.mustRun("send", "--as", "reviewer", "builder", "for the first session")
	if got := hook(secondID); got != "" {
		t.Errorf("the second session's hook, before it has a name, printed %q: builder is the first session's", got)
	}

	register(second, "builder-2")
	m.mustRun("send", "--as", "reviewer", "builder-2", "for the second session")
	got := hook(secondID)
	wantIn(t, "the second session's hook", got, "for the second session", "builder-2")
	wantNotIn(t, "the second session's hook", got, "for the first session")

	// The second session ends: its hooks have no name of their own left,
	// and the one --as gives is the first session's.
	second.Close()
	if got := hook(secondID); got != "" {
		t.Errorf("an ended session's hook printed %q", got)
	}
	wantIn(t, "the first session's hook", hook(firstID), "for the first session")
}
