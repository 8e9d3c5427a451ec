package gateway

import (
	"encoding/json"
	"fmt"

	"github.com/ipcmesh/ipcmesh"
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
	Message ipcmesh.Message `json:"message"`
	Content string          `json:"content"`
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
	r, err := c.peer().FetchPart(c.ctx, id, ipc.Part{Offset: offset, Limit: checkBudget})
	if err != nil {
		return nil, err
	}
	// The part holds the page: a byte takes at least one in JSON.
	part, start, size := r.Content, r.Offset, r.Message.Size
	if offset > size {
		return nil, pastEnd(fmt.Sprintf("the text of message %s", truncate(id, 70)), offset, size)
	}
	m := r.Message
	// The message's own content is a large message's summary, or the
	// part of the body of one that is not large.
	kept := m.Content
	m.Path, m.Content = "", ""
	res := &fetchResult{Message: m}
	room, err := roomFor(res, &res.pageFields, size)
	if err != nil {
		return nil, err
	}
	n := quotedEnd(part, 0, room-(quotedLen(kept)-len(`""`)))
	if !m.Large && (start > 0 || start+n < size) {
		// A body over the budget that is not large: the large-message
		// threshold is raised past it. The message's content, the whole
		// body too, is the page as well.
		n = quotedEnd(part, 0, room/2)
		kept = part[:n]
	}
	res.Message.Content, res.Content = kept, part[:n]
	res.pageFields = pageOf(start, start+n, size)
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
	r, err := c.peer().GetSharedPart(c.ctx, key, ipc.Part{Offset: offset, Limit: checkBudget})
	if err != nil {
		return nil, err
	}
	sh := r.Shared
	part, start := sh.Content, r.Offset
	if offset > sh.Size {
		return nil, pastEnd(fmt.Sprintf("shared %q's content", truncate(key, 70)), offset, sh.Size)
	}
	sh.Content = ""
	res := &sharedResult{Shared: sh}
	room, err := roomFor(res, &res.pageFields, sh.Size)
	if err != nil {
		return nil, err
	}
	// The content is left out of the answer when empty: its key counts.
	room -= len(`,"content":""`)
	n := quotedEnd(part, 0, room)
	res.Content = part[:n]
	res.pageFields = pageOf(start, start+n, sh.Size)
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
