package election

import (
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/proc"
	"github.com/ipcmesh/ipcmesh/internal/testbin"
)

// A program on the mesh port accepts connections and never answers. The
// data folder's broker record names this port and a pid that is running:
// the broker's own pid, hung, or a pid another process got after the
// broker died without removing its record (a reboot, or pids wrapping
// around). The peer must name the pid, and advise killing it, only in
// the first case: told that this test's own process is a hung broker, a
// user would kill a process that has nothing to do with the mesh.
func TestARecordOfAReusedPidIsNotNamed(t *testing.T) {
	me, err := proc.Started(os.Getpid())
	if err != nil {
		t.Skipf("this system does not tell when a process started: %v", err)
	}
	m := newMesh(t)
	testbin.Listen(t, m.addr, func(c net.Conn) {
		io.Copy(io.Discard, c) // until the peer gives up
	})
	pid := "pid " + strconv.Itoa(os.Getpid())
	for _, tc := range []struct {
		name, start string
		named       bool
	}{
		{"the broker's own", me, true},
		{"another process's", me + "0", false},
		{"a record without a mark", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := brokerRecord{PID: os.Getpid(), Start: tc.start, Addr: m.addr, Started: time.Now().UTC()}
			if err := writeBrokerRecord(m.dir, rec); err != nil {
				t.Fatal(err)
			}
			_, err := Join(ctxT(t), m.config())
			if err == nil {
				t.Fatal("joined a mesh whose port holder never answers")
			}
			if named := strings.Contains(err.Error(), pid); named != tc.named {
				t.Errorf("with the record of %s, the error names %s: %v, want %v: %v", tc.name, pid, named, tc.named, err)
			}
			if !tc.named && !strings.Contains(err.Error(), "not an ipcmesh broker") {
				t.Errorf("with the record of %s: %v; want it to call the port's holder a program that is not a broker", tc.name, err)
			}
		})
	}
}
