package tools_test

import (
	"strings"
	"testing"

	"github.com/ipcmesh/ipcmesh/internal/mcptest"
)

// A message over the message limit is refused naming that limit and what
// to do instead, not the frame limit the request would meet, and the
// session goes on.
func TestTooLargeNamesTheMessageLimit(t *testing.T) {
	m := newMesh(t)
	a := m.start("big", startOpts{env: []string{"IPC_NAME=big"}})
	got := a.fails("send", map[string]any{"to": "big", "content": strings.Repeat("x", 20<<20)})
	mcptest.Contains(t, "a 20 MiB send", got, "message limit of 8.0 MiB", "IPC_MAX_MESSAGE_BYTES", "file", "Nothing was sent")
	if strings.Contains(got, "frame") || strings.Contains(got, "16") {
		t.Errorf("a 20 MiB send names the frame limit: %s", got)
	}
	mcptest.Contains(t, "check after the refusal", a.ok("check", nil), "No new messages for big")
}
