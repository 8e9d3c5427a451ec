package cli

import (
	"context"
	"io"

	"github.com/ipcmesh/ipcmesh/election"
	"github.com/ipcmesh/ipcmesh/tools"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// runMCP serves the MCP tools over stdin and stdout until stdin closes.
// Stdout carries MCP and nothing else: logs go to stderr (level IPC_LOG).
func runMCP(ctx context.Context, e Env, args []string) error {
	fs := flags("mcp")
	pos, err := parse(fs, args, -1)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("mcp takes no arguments: configure it with IPC_* environment variables")
	}
	cfg, err := election.FromEnv(e.Getenv)
	if err != nil {
		return err
	}
	log := logger(e)
	cfg.Logger = log
	srv := tools.New(tools.Options{
		Mesh:    cfg,
		Name:    e.Getenv("IPC_NAME"),
		Version: Version,
		Logger:  log,
	})
	return srv.Run(ctx, &mcp.IOTransport{
		Reader: readCloser(e.Stdin),
		Writer: nopWriteCloser{e.Stdout},
	})
}

// readCloser lets the transport close stdin when the session ends, when
// it can be closed.
func readCloser(r io.Reader) io.ReadCloser {
	if rc, ok := r.(io.ReadCloser); ok {
		return rc
	}
	return io.NopCloser(r)
}

// nopWriteCloser keeps stdout open when the session ends: it is not the
// transport's to close.
type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }
