// Command ipcmesh is the mesh for AI assistants: every command joins the
// broker on 127.0.0.1:9876, or hosts it if none is running. Run
// "ipcmesh help" for the commands.
package main

import (
	"os"

	"github.com/ipcmesh/ipcmesh/cli"
)

func main() {
	os.Exit(cli.Main(cli.OS(), os.Args[1:]))
}
