package tools

import (
	"context"
	_ "embed"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// etiquette is the text of the ipcmesh-etiquette prompt: how to work with
// other assistants over the mesh. It is a prompt, not part of the
// instructions or of a tool description, so that it costs context only
// when the user asks for it.
//
//go:embed etiquette.md
var etiquette string

// addEtiquette adds the ipcmesh-etiquette prompt.
func (c *core) addEtiquette() {
	c.mcp.AddPrompt(&mcp.Prompt{
		Name:        "ipcmesh-etiquette",
		Description: "How to collaborate with other AI assistants over ipcmesh",
	}, func(ctx context.Context, req *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
		return &mcp.GetPromptResult{
			Description: "How to collaborate with other AI assistants over ipcmesh",
			Messages: []*mcp.PromptMessage{
				{Role: "user", Content: &mcp.TextContent{Text: etiquette}},
			},
		}, nil
	})
}
