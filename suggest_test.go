package ipcmesh

import "testing"

func TestClosest(t *testing.T) {
	commands := []string{"send", "check", "list", "set-status", "status", "get"}
	args := []string{"to", "content", "type", "reply_to", "interval_minutes", "wait_seconds"}
	for _, c := range []struct {
		word       string
		candidates []string
		want       string
	}{
		{"sned", commands, "send"},
		{"lsit", commands, "list"},
		{"CHECK", commands, "check"},
		{"stat", commands, "status"},
		{"gett", commands, "get"},
		{"xyz", commands, ""},
		{"ab", commands, ""},
		{"minutes", args, "interval_minutes"},
		{"wait", args, "wait_seconds"},
		{"message", args, ""},
		{"photo", args, ""},
	} {
		if got := Closest(c.word, c.candidates); got != c.want {
			t.Errorf("Closest(%q) = %q, want %q", c.word, got, c.want)
		}
	}
}
