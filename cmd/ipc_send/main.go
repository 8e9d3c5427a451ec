// Command ipc_send is "ipcmesh send" as a program of its own, for scripts and
// assistants without MCP. It takes the same arguments and flags.
package main

import (
	"os"

	"github.com/ipcmesh/ipcmesh/cli"
)

func main() {
	e := cli.OS()
	e.Program = "ipc_send"
	os.Exit(cli.Run(e, "send", os.Args[1:]))
}
