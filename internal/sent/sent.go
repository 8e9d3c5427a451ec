// Package sent says what a sender is told about a message after its fate
// (ipc.SendResult.Fate): that it was forwarded, that it is large, and how
// to refer to it. The command line tells a person and the MCP send tool
// tells a model, each in its own words; this package decides which of the
// facts hold and what each says, so the two faces cannot drift apart.
package sent

import (
	"fmt"
	"strings"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/internal/human"
	"github.com/ipcmesh/ipcmesh/ipc"
)

// Words are a face's wording of the facts, each a fmt format.
type Words struct {
	// Forwarded is said when the recipient had been renamed: %[1]s is the
	// name the sender wrote, %[2]s the name the message went to.
	Forwarded string
	// Large is said when the body was spilled to a file: %[1]s is its
	// size, %[2]s the file that holds it.
	Large string
	// Ref names the message for replies and waits: %[1]s is its id and
	// %[2]s its tags (Type, then Thread), each said only when it holds.
	Ref string
	// Type tags a message that is not a plain one: %s is its type.
	Type string
	// Thread tags a message in a thread: %s is the id the thread goes by.
	Thread string
}

// Endings says, in w, the facts of r that hold: forwarded, large, then
// the message's reference, which always holds.
func (w Words) Endings(r ipc.SendResult) string {
	m := r.Message
	var b strings.Builder
	if r.Forwarded {
		fmt.Fprintf(&b, w.Forwarded, m.SentTo, m.To)
	}
	if m.Large {
		fmt.Fprintf(&b, w.Large, human.Size(m.Size), m.Path)
	}
	var tags string
	if m.Type != "" && m.Type != ipcmesh.TypeMessage {
		tags += fmt.Sprintf(w.Type, m.Type)
	}
	if m.Thread != "" {
		tags += fmt.Sprintf(w.Thread, m.Thread)
	}
	fmt.Fprintf(&b, w.Ref, m.ID, tags)
	return b.String()
}
