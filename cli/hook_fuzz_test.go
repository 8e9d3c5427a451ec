package cli

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"unicode"
)

// FuzzHookEvent feeds arbitrary hook input, as a client writes it on a
// hook's stdin, to what hook check makes of it: an event of the client's
// list, or a refusal on one line that names what the input said only as a
// quoted string.
func FuzzHookEvent(f *testing.F) {
	// Seeds: testdata/fuzz/FuzzHookEvent.
	f.Fuzz(func(t *testing.T, input []byte) {
		given := readHookEvent(bytes.NewReader(input), hookInputIdle)
		for _, format := range []string{"claude", "gemini", "text"} {
			h := hookFlags{format: format}
			event, err := h.contextEvent(given)
			if err != nil {
				if msg := err.Error(); strings.ContainsFunc(msg, unicode.IsControl) {
					t.Fatalf("format %s: the refusal of %q is not one line of text: %q", format, given, msg)
				}
				continue
			}
			if events := hookContextEvents[format]; event != "" && !slices.Contains(events, event) || events != nil && event == "" {
				t.Fatalf("format %s: input %q gave the event %q", format, input, event)
			}
		}
	})
}
