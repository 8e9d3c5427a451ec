package ipc

import (
	"github.com/ipcmesh/ipcmesh/internal/textpage"
)

// A Part asks for part of a message's body or of a shared value (fetch,
// get_shared; revision 3): at most Limit bytes from Offset. Such a
// content may hold megabytes, up to the message limit, while the readers
// that page it (the HTTP face's getMessage and getShared, the MCP tools'
// history with id and get_shared) show some tens of kilobytes at a time:
// a body fetched whole for each page moved the whole of it between broker
// and reader for every page, some 750 MB to read 8 MiB in pages of 90 KB.
// The zero Part is the whole content.
type Part struct {
	// Offset is where the part starts, in bytes; one inside a character
	// moves back to the character's start, and one past the end is the
	// end.
	Offset int `json:"offset,omitempty"`
	// Limit bounds the part's bytes: it ends before the character that
	// would pass it. 0 is the rest of the content.
	Limit int `json:"limit,omitempty"`
}

// whole reports whether p asks for the whole content.
func (p Part) whole() bool { return p.Offset <= 0 && p.Limit <= 0 }

// Of returns where p lies in content: a part starts and ends between two
// characters, so that every part of a text is text.
func (p Part) Of(content string) (start, end int) {
	start = textpage.Start(content, min(max(p.Offset, 0), len(content)))
	if p.Limit <= 0 {
		return start, len(content)
	}
	return start, textpage.End(content, start, p.Limit)
}

// cut keeps the part of a fetch's answer that p asks for: its body, and
// the message's own content too when that is the body (a message that is
// not large). The message's Size stays the whole body's.
func (r *FetchResult) cut(p Part) {
	if p.whole() {
		return
	}
	start, end := p.Of(r.Content)
	r.Content, r.Offset = r.Content[start:end], start
	if !r.Message.Large {
		r.Message.Content = r.Content
	}
}

// cut keeps the part of a get_shared's answer that p asks for. The
// entry's Size stays the whole value's.
func (r *SharedResult) cut(p Part) {
	if p.whole() {
		return
	}
	start, end := p.Of(r.Shared.Content)
	r.Shared.Content, r.Offset = r.Shared.Content[start:end], start
}
