package gateway

import (
	"encoding/json"
	"fmt"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/internal/textpage"
	"github.com/ipcmesh/ipcmesh/ipc"
)

// A message's or a shared value's content may hold megabytes, and a
// ChatGPT action refuses an answer over 100,000 characters: however
// often it asked, a GPT read none of it. So getMessage and getShared
// answer a page of the content at a time, each answer within
// checkBudget, as the MCP tools page the same content (history with id,
// get_shared): a page starts and ends between two characters, offset
// reads on. A content that fits is answered whole, as it always was.

// pageFields say where a page of content lies in the whole, which size
// (the message's or the entry's) measures in bytes. Both are left out for
// a content answered whole.
type pageFields struct {
	Offset     int `json:"offset,omitempty" jsonschema:"where this page of content starts in the whole, in bytes; absent for the first page"`
	NextOffset int `json:"next_offset,omitempty" jsonschema:"present while the content goes on past this page (an answer stays under 90,000 bytes): ask again with it as offset for the next page. The whole content has size bytes (a message's: message.size)"`
}

// fetchResult is a message with a page of its whole body.
type fetchResult struct {
	ipc.FetchResult
	pageFields
}

// sharedResult is a shared entry with a page of its content.
type sharedResult struct {
	ipcmesh.Shared
	pageFields
}

// offsetParam documents the offset query parameter of what (a message's
// body, a shared value).
func offsetParam(what string) param {
	return param{name: "offset", typ: "integer",
		desc: "the byte offset in " + what + " at which the page starts: the next_offset of the page before (absent: the start)"}
}

// pastEnd refuses an offset past the end of what, whose content has size
// bytes, in the words the MCP tools use.
func pastEnd(what string, offset, size int) error {
	return ipcmesh.Errorf(ipcmesh.CodeBadRequest,
		"offset %d is past the end of %s, which has %d bytes: give an offset from 0 to %d, the next_offset of the page before", offset, what, size, size)
}

// fetch answers one message the name may read with its whole body, or a
// page of it.
func (s *Server) fetch(c *call) (any, error) {
	q := c.query()
	offset := q.count("offset", 0)
	if q.err != nil {
		return nil, q.err
	}
	id := c.r.PathValue("id")
	r, err := c.peer().Fetch(c.ctx, id)
	if err != nil {
		return nil, err
	}
	body := r.Content
	if offset > len(body) {
		return nil, pastEnd(fmt.Sprintf("the text of message %s", truncate(id, 70)), offset, len(body))
	}
	m := r.Message
	// The message's own content is a large message's summary, or the
	// whole body of one that is not large.
	kept := m.Content
	m.Path, m.Content = "", ""
	res := &fetchResult{FetchResult: ipc.FetchResult{Message: m}}
	room, err := roomFor(res, &res.pageFields, len(body))
	if err != nil {
		return nil, err
	}
	start := textpage.Start(body, offset)
	end := quotedEnd(body, start, room-(quotedLen(kept)-len(`""`)))
	if !m.Large && (start > 0 || end < len(body)) {
		// A body over the budget that is not large: the large-message
		// threshold is raised past it. The message's content, the whole
		// body too, is the page as well.
		end = quotedEnd(body, start, room/2)
		kept = body[start:end]
	}
	res.Message.Content, res.Content = kept, body[start:end]
	res.pageFields = pageOf(start, end, len(body))
	return res, nil
}

// getShared answers the content stored under a shared key, or a page of
// it.
func (s *Server) getShared(c *call) (any, error) {
	q := c.query()
	offset := q.count("offset", 0)
	if q.err != nil {
		return nil, q.err
	}
	key := c.r.PathValue("key")
	sh, err := c.peer().GetShared(c.ctx, key)
	if err != nil {
		return nil, err
	}
	content := sh.Content
	if offset > len(content) {
		return nil, pastEnd(fmt.Sprintf("shared %q's content", truncate(key, 70)), offset, len(content))
	}
	sh.Content = ""
	res := &sharedResult{Shared: sh}
	room, err := roomFor(res, &res.pageFields, len(content))
	if err != nil {
		return nil, err
	}
	// The content is left out of the answer when empty: its key counts.
	room -= len(`,"content":""`)
	start := textpage.Start(content, offset)
	end := quotedEnd(content, start, room)
	res.Content = content[start:end]
	res.pageFields = pageOf(start, end, len(content))
	return res, nil
}

// roomFor is how many bytes the content of answer, a fetchResult or a
// sharedResult with no content yet, may take in its JSON within
// checkBudget, quotes aside: what is left once the rest is written as
// writeJSON writes it, its page fields at their longest (those of a
// content of size bytes) and the newline after it.
func roomFor(answer any, page *pageFields, size int) (int, error) {
	*page = pageFields{Offset: size, NextOffset: size}
	b, err := json.Marshal(answer)
	*page = pageFields{}
	if err != nil {
		return 0, fmt.Errorf("measure the answer: %w", err)
	}
	return checkBudget - len(b) - len("\n"), nil
}

// pageOf says where the page from start to end lies in a content of size
// bytes.
func pageOf(start, end, size int) pageFields {
	p := pageFields{Offset: start}
	if end < size {
		p.NextOffset = end
	}
	return p
}
