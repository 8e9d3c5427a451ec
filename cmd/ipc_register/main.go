// Command ipc_register is "ipcmesh register" as a program of its own, for scripts and
// assistants without MCP. It takes the same arguments and flags.
package main

import (
	"os"

	"github.com/ipcmesh/ipcmesh/cli"
)

func main() {
	e := cli.OS()
	e.Program = "ipc_register"
	os.Exit(cli.Run(e, "register", os.Args[1:]))
}
