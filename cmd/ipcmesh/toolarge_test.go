//go:build unix

package main

import (
	"strings"
	"testing"
)

// A 20 MiB message sent through the MCP tools is refused naming the
// message limit and what to do instead, not the 16 MiB frame limit, and
// the session goes on: the stdio transport does not hang up on the line.
func TestTooLargeNamesTheMessageLimit(t *testing.T) {
	m := newMesh(t)
	cs := m.mcpClient(t, "IPC_NAME=big")
	got, isErr := assistantCall(t, cs, "send", map[string]any{"to": "other", "content": strings.Repeat("x", 20<<20)})
	for _, want := range []string{"message limit of 8.0 MiB", "IPC_MAX_MESSAGE_BYTES", "file", "Nothing was sent"} {
		if !isErr || !strings.Contains(got, want) {
			t.Errorf("a 20 MiB send: want an error result saying %q, got %q", want, got)
		}
	}
	if strings.Contains(got, "frame") || strings.Contains(got, "16") {
		t.Errorf("a 20 MiB send names the frame limit: %s", got)
	}
	if got, isErr := assistantCall(t, cs, "check", nil); isErr || !strings.Contains(got, "No new messages for big") {
		t.Errorf("check after the refusal: %q", got)
	}
}
