// Command ipc_rename is "ipcmesh rename" as a program of its own, for scripts and
// assistants without MCP. It takes the same arguments and flags.
package main

import (
	"os"

	"github.com/ipcmesh/ipcmesh/cli"
)

func main() {
	e := cli.OS()
	e.Program = "ipc_rename"
	os.Exit(cli.Run(e, "rename", os.Args[1:]))
}
