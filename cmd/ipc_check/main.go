// Command ipc_check is "ipcmesh check" as a program of its own, for scripts and
// assistants without MCP. It takes the same arguments and flags.
package main

import (
	"os"

	"github.com/ipcmesh/ipcmesh/cli"
)

func main() {
	e := cli.OS()
	e.Program = "ipc_check"
	os.Exit(cli.Run(e, "check", os.Args[1:]))
}
