package tools_test

import (
	"strings"
	"testing"

	"github.com/ipcmesh/ipcmesh/internal/mcptest"
)

// Arguments that do not fit a tool are answered with the tool's real
// arguments, named and typed, and the one likely meant.
func TestWrongArgumentsNameTheRealOnes(t *testing.T) {
	c := serveStdio(t, mcptest.MeshConfig(t))
	for _, tc := range []struct {
		tool string
		args map[string]any
		want []string
	}{
		{"auto_check", map[string]any{"minutes": 5}, []string{`no "minutes" (did you mean "interval_minutes"?)`, "interval_minutes (integer)"}},
		{"send", map[string]any{"to": "bob", "message": "hi"}, []string{`no "message"`, `needs "content"`, "content (string, required)", "to (string, required)", "type (string: one of message, request, response"}},
		{"check", map[string]any{"wait_seconds": "5"}, []string{"wait_seconds", "integer", "Its arguments:"}},
	} {
		got := c.Fails(tc.tool, tc.args)
		mcptest.Contains(t, tc.tool, got, tc.want...)
		if strings.Contains(got, "additional properties") {
			t.Errorf("%s answers with the SDK's validation text: %s", tc.tool, got)
		}
	}
}
