// Command ipc_list is "ipcmesh list" as a program of its own, for scripts and
// assistants without MCP. It takes the same arguments and flags.
package main

import (
	"os"

	"github.com/ipcmesh/ipcmesh/cli"
)

func main() {
	e := cli.OS()
	e.Program = "ipc_list"
	os.Exit(cli.Run(e, "list", os.Args[1:]))
}
