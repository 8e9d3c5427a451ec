// Command ipcmesh is the mesh for AI assistants: every command joins the
// broker on 127.0.0.1:9876, or hosts it if none is running. Run
// "ipcmesh help" for the commands.
package main

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strconv"

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
	tuneGC(os.Getenv, os.Stderr)
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
	os.Exit(cli.Main(cli.OS(), os.Args[1:]))
}

// tuneGC sets the collector's percentage to gcPercent unless GOGC gives
// one. The runtime takes a GOGC it cannot read ("abc", "400 ", "400%") as
// 100 without a word: a user who set it to collect less would get a
// broker that collects four times as often as one with GOGC unset. So a
// value the runtime does not read is taken as unset, and said so on
// stderr, which names the variable and what it takes.
func tuneGC(getenv func(string) string, stderr io.Writer) {
	v := getenv("GOGC")
	if v != "" && validGOGC(v) {
		return
	}
	if v != "" {
		fmt.Fprintf(stderr, "ipcmesh: GOGC=%q is not a whole number (a percentage, such as 400) or off, so it is ignored and ipcmesh's %d applies: fix it or unset it\n", v, gcPercent)
	}
	debug.SetGCPercent(gcPercent)
}

// validGOGC reports whether the runtime reads v as GOGC: "off", or a
// whole number that fits in 32 bits, as runtime.readGOGC parses it.
func validGOGC(v string) bool {
	if v == "off" {
		return true
	}
	_, err := strconv.ParseInt(v, 10, 32)
	return err == nil
}
