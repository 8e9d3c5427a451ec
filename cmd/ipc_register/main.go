// Command ipc_register is "ipcmesh register" as a program of its own, for scripts and
// assistants without MCP. It takes the same arguments and flags.
package main

import (
	"os"

	"github.com/ipcmesh/ipcmesh/cli"
)

func main() {
	os.Exit(cli.Run(cli.OS(), "register", os.Args[1:]))
}
