package tools_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ipcmesh/ipcmesh/internal/mcptest"
)

// A shared value of megabytes comes in pages a model can take in, as a
// large message's text does with history and id: each page says where
// the next one starts, and the pages hold the whole value, characters
// whole.
func TestLargeSharedValueReadInPages(t *testing.T) {
	c := serveStdio(t, mcptest.MeshConfig(t))
	c.OK("register", map[string]any{"name": "alice"})
	var big strings.Builder
	for i := range 8000 {
		fmt.Fprintf(&big, "ligne %d du rapport, où rien ne se passe\n", i)
	}
	big.WriteString("FIN")
	c.OK("share", map[string]any{"key": "report", "content": big.String()})

	var pages int
	var text strings.Builder
	for offset := 0; ; pages++ {
		if pages > 20 {
			t.Fatalf("still reading after %d pages at offset %d", pages, offset)
		}
		args := map[string]any{"key": "report"}
		if offset > 0 {
			args["offset"] = offset
		}
		page := c.OK("get_shared", args)
		if len(page) > 80<<10 {
			t.Fatalf("a page of get_shared is %d bytes, want at most a page of text and its frame", len(page))
		}
		mcptest.Contains(t, "a page", page, `Shared "report"`, "stored by alice")
		for _, l := range strings.Split(page, "\n") {
			if q, ok := strings.CutPrefix(l, "> "); ok {
				text.WriteString(q)
			}
		}
		_, rest, more := strings.Cut(page, `get_shared with key "report" and offset `)
		if !more {
			break
		}
		if _, err := fmt.Sscanf(rest, "%d", &offset); err != nil {
			t.Fatalf("a page's next offset: %v in %q", err, page)
		}
	}
	if want := strings.ReplaceAll(big.String(), "\n", ""); text.String() != want {
		t.Errorf("the pages hold %d bytes of text (lines joined), want the %d of the value", text.Len(), len(want))
	}
	if pages < 2 {
		t.Errorf("%d bytes came in %d page(s), want several", big.Len(), pages+1)
	}
	mcptest.Contains(t, "at the end", c.OK("get_shared", map[string]any{"key": "report", "offset": big.Len()}),
		fmt.Sprintf("offset %d is the end of its %d bytes: there is nothing after it", big.Len(), big.Len()))
	mcptest.Contains(t, "past the end", c.Fails("get_shared", map[string]any{"key": "report", "offset": big.Len() + 1}), "past the end")
	mcptest.Contains(t, "offset alone", c.Fails("get_shared", map[string]any{"offset": 5}), "give its key too")
	mcptest.Contains(t, "negative offset", c.Fails("get_shared", map[string]any{"key": "report", "offset": -1}), "offset")

	// An offset inside a character ("où" is o, then two bytes of ù):
	// the page begins at that character.
	at := strings.Index(big.String(), "où") + 2
	page := c.OK("get_shared", map[string]any{"key": "report", "offset": at})
	mcptest.Contains(t, "a page from inside a character", page, fmt.Sprintf("(bytes %d to ", at-1), "> ù rien ne se passe")
}

// A value over the message limit is refused saying that nothing was
// shared, and a message over it that nothing was sent: each says what
// the refusal left undone.
func TestOverTheLimitSaysWhatWasNotDone(t *testing.T) {
	cfg := mcptest.MeshConfig(t)
	cfg.Store.MaxMessageBytes = 1000
	c := serveStdio(t, cfg)
	mcptest.JoinAs(t, cfg, "bob")
	c.OK("register", map[string]any{"name": "alice"})
	big := strings.Repeat("x", 1001)
	got := c.Fails("share", map[string]any{"key": "notes", "content": big})
	mcptest.Contains(t, "share over the limit", got, "over the message limit", "split it over several keys. Nothing was shared")
	mcptest.NotContains(t, "share over the limit", got, "sent")
	got = c.Fails("send", map[string]any{"to": "bob", "content": big})
	mcptest.Contains(t, "send over the limit", got, "over the message limit", "Nothing was sent")
}
