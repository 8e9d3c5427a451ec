package main

import (
	"runtime/debug"
	"strings"
	"testing"
)

// A GOGC the runtime cannot read is taken as unset, with a word on
// stderr, rather than as the runtime's 100: the user who set it meant to
// tune the collector, not to have it run four times as often as with no
// setting at all.
func TestInvalidGOGCKeepsTheDefault(t *testing.T) {
	before := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(before) })
	for _, c := range []struct {
		gogc    string
		percent int // what the collector runs with; -1 is off
		warns   bool
	}{
		{"", gcPercent, false},
		{"abc", gcPercent, true},
		{"400 ", gcPercent, true},
		{"50%", gcPercent, true},
		{"OFF", gcPercent, true},
		{"99999999999", gcPercent, true},
		{"200", 200, false},
		{"off", -1, false},
	} {
		// The runtime read the real GOGC as the test started: set what
		// it would have made of this one, as the process would start.
		runtimeReads := 100
		switch {
		case c.gogc == "off":
			runtimeReads = -1
		case validGOGC(c.gogc):
			runtimeReads = c.percent
		}
		debug.SetGCPercent(runtimeReads)
		var stderr strings.Builder
		tuneGC(func(k string) string {
			if k == "GOGC" {
				return c.gogc
			}
			return ""
		}, &stderr)
		if got := debug.SetGCPercent(100); got != c.percent {
			t.Errorf("GOGC=%q: the collector runs at %d%%, want %d%%", c.gogc, got, c.percent)
		}
		warning := stderr.String()
		if c.warns != (warning != "") {
			t.Errorf("GOGC=%q: warning %q, want one: %v", c.gogc, warning, c.warns)
		}
		if c.warns && !(strings.Contains(warning, "GOGC=") && strings.Contains(warning, "off") && strings.Contains(warning, "400")) {
			t.Errorf("GOGC=%q: the warning does not name the variable and what it takes: %q", c.gogc, warning)
		}
	}
}

// The program says so as it starts, and goes on with the command.
func TestInvalidGOGCIsSaid(t *testing.T) {
	r := newMesh(t).withEnv("GOGC=abc").run("help")
	if r.code != 0 || !strings.Contains(r.stdout, "usage: ipcmesh") {
		t.Fatalf("ipcmesh help with GOGC=abc did not run: %s", r)
	}
	if !strings.Contains(r.stderr, `GOGC="abc"`) {
		t.Errorf("ipcmesh help with GOGC=abc does not say it ignores it: %s", r)
	}
}
