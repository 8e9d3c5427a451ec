package tools

import (
	"github.com/ipcmesh/ipcmesh/ipc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// IdempotencyMeta is the _meta key of a tool call that names the message
// it sends. A client that may send the same call twice (the bridge in
// tools/remote, after a connection broke before the answer came) gives
// every try the same key, and the broker stores the message once: a send
// or broadcast retried that way is a duplicate, not a second message. The
// REST face's Idempotency-Key header is the same idea.
const IdempotencyMeta = "ipcmesh/idempotency-key"

// messageID returns the message id a tool call asks for with
// IdempotencyMeta, or "" to have one made.
func messageID(req *mcp.CallToolRequest) (string, error) {
	v, ok := req.Params.Meta[IdempotencyMeta]
	if !ok {
		return "", nil
	}
	id, _ := v.(string)
	if err := ipc.ValidateID("_meta "+IdempotencyMeta, id); err != nil {
		return "", err
	}
	return id, nil
}
