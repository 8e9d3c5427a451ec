//go:build unix

package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestMCPRefusesOversizedCall: a tool call over 64 MiB, the most one line
// of MCP over stdio may be, gets an error for that call; the server keeps
// serving, and nothing of the refused call reaches the mesh.
//
// Not parallel: the client builds and encodes 65 MiB in this process,
// and under the race detector that stalls the whole process for 2 to 6 s
// (its heap passes 400 MB; one of the collector's stops of the world took
// 2 s). The NATS nodes of TestTwoHostsStreamExactlyOnceAcrossNodeAndBrokerLoss
// run in this process: in such a stall they answer nobody, and that
// test's brokers time their writes out. Sequential tests never overlap
// parallel ones.
func TestMCPRefusesOversizedCall(t *testing.T) {
	m := newMesh(t)
	assistant := m.registeredAssistant(t, "carol")

	// runTimeout bounds a command; this call's encoding alone costs this
	// process some 20 s of CPU under the race detector (the go-sdk copies
	// the 65 MiB several times, and each copy is checked byte range by
	// byte range), which on a busy two-core machine took 65 to 90 s.
	// The bound only turns a server that never answers into a failure.
	const hugeCallTimeout = 5 * time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), hugeCallTimeout)
	defer cancel()
	huge := strings.Repeat("x", 65<<20)
	_, err := assistant.CallTool(ctx, &mcp.CallToolParams{Name: "send", Arguments: map[string]any{"to": "dave", "content": huge}})
	if err == nil {
		t.Fatal("a 65 MiB tool call succeeded")
	}
	for _, want := range []string{"65.0 MiB", "over the 64.0 MiB", "refused", "IPC_MAX_MESSAGE_BYTES"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the refusal %q does not say %q", err, want)
		}
	}

	if text, isErr := assistantCall(t, assistant, "send", map[string]any{"to": "dave", "content": "small after huge"}); isErr {
		t.Fatalf("send after the refused call: %s", text)
	}
	text := m.mustRun("check", "--as", "dave").stdout
	if !strings.Contains(text, "small after huge") || strings.Contains(text, "xxxxxxxx") {
		t.Errorf("check after the refused call: %q, want the small message alone", text)
	}
}
