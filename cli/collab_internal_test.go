package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/human"

	"github.com/ipcmesh/ipcmesh"
)

func TestParseWhen(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"24h":                  now.Add(-24 * time.Hour),
		"90m":                  now.Add(-90 * time.Minute),
		"7d":                   now.AddDate(0, 0, -7),
		"2026-03-01T08:00:00Z": time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC),
		"2026-03-01":           time.Date(2026, 3, 1, 0, 0, 0, 0, time.Local),
	} {
		got, err := human.ParseWhen(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("human.ParseWhen(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "yesterday", "-5h", "3x"} {
		if _, err := human.ParseWhen(in, now); err == nil {
			t.Errorf("human.ParseWhen(%q) succeeded, want an error", in)
		}
	}
}

func TestPrintMessage(t *testing.T) {
	for _, tc := range []struct {
		m      ipcmesh.Message
		showTo bool
		want   string
	}{
		{ipcmesh.Message{ID: "a1", From: "alice", To: "bob", Content: "hi"}, false, "alice: hi  (id a1)\n"},
		{ipcmesh.Message{ID: "a1", From: "alice", To: "bob", Content: "hi"}, true, "alice to bob: hi  (id a1)\n"},
		{ipcmesh.Message{ID: "a2", From: "alice", To: "#dev", Channel: "dev", Type: "status", Content: "red"}, true, "alice in #dev [status]: red  (id a2)\n"},
		{ipcmesh.Message{ID: "a3", From: "bob", To: "alice", Type: "done", ReplyTo: "a1", Thread: "a1", Shared: "plan", Content: "ok"}, false, "bob [done, re a1, shared plan]: ok  (id a3)\n"},
	} {
		var b strings.Builder
		printMessage(&b, tc.m, tc.showTo)
		if got := b.String(); !strings.HasSuffix(got, "] "+tc.want) {
			t.Errorf("printMessage(%+v) = %q, want it to end with %q", tc.m, got, tc.want)
		}
	}
}
