//go:build unix || windows

package proc

import (
	"os"
	"strconv"
	"testing"
)

// A pid no process can have is not running, even where the system would
// read it as another: a record damaged to 4294967297 must not count as
// the live process 1, nor one whose low 32 bits are this process's pid as
// this process.
func TestAliveRefusesPidsNoProcessHas(t *testing.T) {
	if !Alive(os.Getpid()) {
		t.Fatalf("Alive(self) = false")
	}
	if strconv.IntSize < 64 {
		t.Skip("an int holds no pid past 32 bits here")
	}
	shift := 32
	for _, pid := range []int{0, -1, 1<<shift + 1, 1<<shift + os.Getpid()} {
		if Alive(pid) {
			t.Errorf("Alive(%d) = true, want false: no process has that pid", pid)
		}
	}
}
