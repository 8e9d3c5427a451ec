package gateway

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/ipc"
)

// The broker names the file a large message was spilled to (Message.Path),
// for a reader on the mesh's machine, which can open it. A key holder of
// the HTTP face is on another machine as often as not, and opens no file
// there; what the path gave it was the face's data folder, and with it the
// name and home folder of the user who runs the face. So the face's REST
// answers and event streams leave the path out, as its MCP tools do:
// GET /api/v1/messages/{id} reads a large message whole.

// withoutPaths clears the file path of each message in msgs, in place.
func withoutPaths(msgs []ipcmesh.Message) []ipcmesh.Message {
	for i := range msgs {
		msgs[i].Path = ""
	}
	return msgs
}

// pathKey is how a message's path starts in the broker's compact JSON.
// Inside a JSON string a quote is always escaped, so these bytes occur
// only where an object has a key "path".
var pathKey = []byte(`"path":`)

// sendWithoutPath returns the broker's JSON answer to a send with the
// message's path left out. An answer without one (every message but a
// large one) is passed on as it is, undecoded.
func sendWithoutPath(raw json.RawMessage) (any, error) {
	if !bytes.Contains(raw, pathKey) {
		return raw, nil
	}
	var r ipc.SendResult
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("decode the broker's answer to a send: %w", err)
	}
	r.Message.Path = ""
	return r, nil
}
