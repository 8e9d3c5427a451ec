// Command ipcmesh is the mesh for AI assistants: every command joins the
// broker on 127.0.0.1:9876, or hosts it if none is running. Run
// "ipcmesh help" for the commands.
package main

import (
	"os"
	"runtime/debug"

	"github.com/ipcmesh/ipcmesh/cli"
)

// The garbage collector's defaults suit large heaps. A broker's heap is a
// few MiB and turns over with every message, so at GOGC=100 it collects
// all the time: in the 8-sender bench, GOGC=400 moved 15,800 to 18,700
// msgs/s and left the broker's peak RSS with 100 instances at 22 MiB. The
// soft limit makes the collector work harder before a heap full of large
// messages grows past it. GOGC and GOMEMLIMIT in the environment win.
const (
	gcPercent   = 400
	memoryLimit = 256 << 20
)

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
	os.Exit(cli.Main(cli.OS(), os.Args[1:]))
}
