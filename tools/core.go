package tools

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/election"
	"github.com/ipcmesh/ipcmesh/ipc"
	"github.com/ipcmesh/ipcmesh/store"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// core is what every server of this package has, whichever way it reaches
// the mesh: the MCP server its tools, prompt and inbox resource are added
// to, its logger, and the identity the tools act through. The handlers of
// the tool files are its methods, so each reads one way; where servers
// differ, the identity decides.
type core struct {
	mcp *mcp.Server
	log *slog.Logger
	id  identity
	// largeBytes is the size over which a message is large (a summary and
	// a file path for its readers), as the mesh is configured; send's
	// description states it.
	largeBytes int
	// waitMail, when set, is how check waits for mail
	// (BoundOptions.WaitForMail); unset, the broker holds the check.
	waitMail func(ctx context.Context, req ipc.CheckRequest, wait time.Duration) (ipc.CheckResult, error)
	// configured is IPC_NAME, which the first tool call that needs a name
	// registers; "" when there is none (and on a bound server).
	configured string
	// checks answers a retried check with the first try's result.
	checks replays
	// unanswered lends the id of a send that got no answer to the same
	// send made again.
	unanswered unanswered
	// paths is set when the model runs on the mesh's machine, where the
	// file of a large message can be read: results name it.
	paths bool
}

// identity is the part of a server that depends on who chooses the name it
// acts as. New's Server joins the mesh itself and acts as whatever name the
// model registers; NewBound's server acts through a peer the HTTP face
// holds, as the name the caller's key is bound to, so register only
// confirms it and rename and auto_check are refused.
type identity interface {
	// mesh returns the peer the tools act through, registered or not.
	mesh(ctx context.Context) (*election.Peer, error)
	// registered returns the peer and the name it acts as, or an error
	// that says what to do first.
	registered(ctx context.Context, action string) (*election.Peer, string, error)
	// notRegistered is the error for a tool that needs a name the peer
	// does not act as.
	notRegistered(action string) error
	// unauthorized is the error for a call the broker refused because the
	// peer's session is no longer valid (expired, revoked); msg is the
	// broker's reason.
	unauthorized(action, msg string) error
	// configuredErr is why the configured name (IPC_NAME) could not be
	// registered the last time a tool call tried, nil if it was not tried
	// or was registered.
	configuredErr() error

	// register, rename and autoCheck are the handlers of the tools that
	// differ between servers.
	register(ctx context.Context, req *mcp.CallToolRequest, in registerArgs) (*mcp.CallToolResult, any, error)
	rename(ctx context.Context, req *mcp.CallToolRequest, in renameArgs) (*mcp.CallToolResult, any, error)
	autoCheck(ctx context.Context, req *mcp.CallToolRequest, in autoCheckArgs) (*mcp.CallToolResult, any, error)
}

// addFeatures adds the tools, the prompt and the inbox resource to c.mcp,
// and the middleware that explains wrong arguments and unknown tools.
// Every server has the same ones, whichever way it reaches the mesh.
func (c *core) addFeatures() {
	c.mcp.AddReceivingMiddleware(nameUnknownTools, c.explainArguments, dropNulls, dropEmptyChoices)
	c.addRegister()
	c.addSend()
	c.addCheck()
	c.addBroadcast()
	c.addList()
	c.addRename()
	c.addAutoCheck()
	c.addHistory()
	c.addChannels()
	c.addShare()
	c.addSearch()
	c.addSetStatus()
	c.addEtiquette()
	c.addInbox()
}

// fail turns an error from the mesh into a message the model can act on.
// The broker's messages already say what to do; a few codes need MCP
// wording instead of the command line's.
func (c *core) fail(action string, err error) error {
	var e *ipcmesh.Error
	if errors.As(err, &e) {
		switch e.Code {
		case ipcmesh.CodeNotRegistered:
			return c.id.notRegistered(action)
		case ipcmesh.CodeUnauthorized:
			return c.id.unauthorized(action, e.Message)
		case ipcmesh.CodeRateLimited:
			return fmt.Errorf("cannot %s: the broker is rate limiting this instance; wait %s, then try once more (do not retry in a loop)", action, e.RetryAfter())
		}
		return fmt.Errorf("cannot %s: %s", action, opsAsTools.Replace(e.Message))
	}
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("cannot %s: the call was cancelled", action)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("cannot %s: timed out; try again", action)
	}
	return fmt.Errorf("cannot %s: %w", action, err)
}

// opsAsTools words the broker's advice, which names wire ops or says what
// to do without a command, as the tools that do it.
var opsAsTools = strings.NewReplacer(
	"channel_list", "channels (action list)",
	"channel_create", "channels (action create)",
	"channel_join", "channels (action join)",
	"channel_leave", "channels (action leave)",
	"list the shared keys", "list the shared keys with get_shared without a key",
)

// text is a successful tool result holding s.
func text(s string) *mcp.CallToolResult {
	return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: s}}}
}

// discard is the logger of a server given none.
var discard = slog.New(slog.DiscardHandler)

func orDiscard(log *slog.Logger) *slog.Logger {
	if log == nil {
		return discard
	}
	return log
}

func orDevel(version string) string {
	if version == "" {
		return "devel"
	}
	return version
}

// orStoreDefault is a large-message threshold as the store applies it: n,
// or the store's default when n is 0 (unset).
func orStoreDefault(n int) int {
	if n <= 0 {
		return store.DefaultLargeMessageBytes
	}
	return n
}

// schemaOnce returns the input schema of T (see inputSchema), made on
// first use and shared, read-only, by every server after.
func schemaOnce[T any](enums map[string][]string) func() *jsonschema.Schema {
	return sync.OnceValue(func() *jsonschema.Schema { return inputSchema[T](enums) })
}

// inputSchema is the input schema inferred for T, made plain for every
// client: an optional slice or pointer is inferred as ["null", X], which
// some clients (Gemini's function declarations) cannot take, so each
// property gets its one type. enums restricts properties to listed values.
func inputSchema[T any](enums map[string][]string) *jsonschema.Schema {
	schema, err := jsonschema.For[T](nil)
	if err != nil {
		panic(fmt.Sprintf("input schema of %T: %v", *new(T), err))
	}
	for name, prop := range schema.Properties {
		if len(prop.Types) > 0 {
			types := slices.DeleteFunc(slices.Clone(prop.Types), func(t string) bool { return t == "null" })
			if len(types) == 1 {
				prop.Types, prop.Type = nil, types[0]
			}
		}
		for _, v := range enums[name] {
			prop.Enum = append(prop.Enum, v)
		}
	}
	return schema
}
