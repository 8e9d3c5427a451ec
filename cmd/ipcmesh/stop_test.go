package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/ipcmesh/ipcmesh/internal/testbin"
)

// handedOverQuietly fails the test if a peer of out wrote anything to
// stderr: a broker that hands over leaves its peers nothing to warn of.
func handedOverQuietly(t *testing.T, out streamOutcome) {
	t.Helper()
	for _, p := range []*proc{out.sender, out.receiver} {
		if s := p.stderr.String(); s != "" {
			t.Errorf("%s wrote to stderr while the broker was stopped:\n%s", p.label, s)
		}
	}
}

// ipcmesh stop asks the detached broker to stop and hand over, on every
// system: in the middle of a stream every message arrives once and in
// order, the peers warn of nothing, and the broker's log says why it
// stopped. On Windows, where stop used to kill it, its peers saw a crash.
func TestStopAsksTheDetachedBrokerToHandOver(t *testing.T) {
	t.Parallel()
	var stop result
	var dir string
	out := streamAcrossBrokerLoss(t, 2000, nil, func(m *mesh, pid int) {
		dir = m.dir
		stop = m.mustRun("stop")
	})
	t.Logf("after ipcmesh stop, the receiver printed its next message %v later", out.nextAfterLoss)
	if !strings.Contains(stop.stdout, "stopped the broker") || strings.Contains(stop.stdout, "SIGTERM") || strings.Contains(stop.stdout, "ending its process") {
		t.Errorf("ipcmesh stop printed %q; want it to say it stopped the broker, which was asked", stop.stdout)
	}
	log, err := os.ReadFile(filepath.Join(dir, "broker.log"))
	if err != nil {
		t.Fatal(err)
	}
	if want := `msg="stopping the detached broker" why="asked to stop (ipcmesh stop)"`; !strings.Contains(string(log), want) {
		t.Errorf("the detached broker's log does not say %q:\n%s", want, tail(string(log), 10))
	}
	handedOverQuietly(t, out)
}

// ipcmesh stop asks a broker run in the foreground to hand over, rather
// than signal it: it says so in its window, and hands over in the middle
// of a stream as on Ctrl-C: every message arrives once and in order, and
// a peer takes its place. On Windows, which has no SIGTERM for another
// process, stop used to kill it, and its window closed without a word.
func TestStopAsksTheForegroundBrokerToHandOver(t *testing.T) {
	t.Parallel()
	var stop result
	out := streamAcrossBrokerLoss(t, 2000, (*mesh).startBroker, func(m *mesh, _ int) {
		stop = m.mustRun("stop")
	})
	t.Logf("after ipcmesh stop, the receiver printed its next message %v later; pid %d hosts the broker now", out.nextAfterLoss, out.host)
	if strings.Contains(stop.stdout, "SIGTERM") || strings.Contains(stop.stdout, "ending its process") {
		t.Errorf("ipcmesh stop printed %q; want the broker asked, not signalled", stop.stdout)
	}
	if code := out.broker.wait(runTimeout); code != 0 {
		t.Errorf("the broker asked to stop exited with status %d, want 0", code)
	}
	if want := "asked to stop (ipcmesh stop): handing over and stopping"; !strings.Contains(out.broker.stdout.String(), want) {
		t.Errorf("the broker printed %q; want it to say %q", out.broker.stdout.String(), want)
	}
	if out.host == out.brokerPID {
		t.Errorf("the broker asked to stop (pid %d) still hosts the mesh", out.host)
	}
	handedOverQuietly(t, out)
}

// A broker that refuses the request (its record's stop key rewritten, so
// that the key stop sends is not its own) is stopped all the same: sent
// SIGTERM, or on Windows killed, as before the request, and stop says
// which and why.
func TestStopSignalsABrokerThatRefusesTheRequest(t *testing.T) {
	t.Parallel()
	m := newMesh(t)
	broker := m.startBroker()
	path := filepath.Join(m.dir, "broker.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rec map[string]any
	if err := json.Unmarshal(b, &rec); err != nil || rec["stop_key"] == nil {
		t.Fatalf("the broker's record %s holds no stop key (%v)", b, err)
	}
	rec["stop_key"] = "ANOTHERBROKERSKEY234567ABC"
	if b, err = json.Marshal(rec); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	stop := m.mustRun("stop")
	code := broker.wait(runTimeout)
	want := "with SIGTERM, which hands over as well, as it could not be asked"
	if runtime.GOOS == "windows" {
		want = "by ending its process, as it could not be asked"
	}
	for _, w := range []string{want, "not this broker's"} {
		if !strings.Contains(stop.stdout, w) {
			t.Errorf("ipcmesh stop printed %q; want it to say %q", stop.stdout, w)
		}
	}
	if runtime.GOOS != "windows" {
		if code != 0 || !strings.Contains(broker.stdout.String(), "handing over and stopping") || strings.Contains(broker.stdout.String(), "asked to stop") {
			t.Errorf("the broker signalled exited %d, printing %q; want 0, handing over on the signal", code, broker.stdout.String())
		}
	}
}

// ipcmesh stop stops the broker of a data folder that was removed while
// it ran (to start afresh): stop refused it, saying the broker "serves the
// data folder D, not D", and the broker had to be found and killed by
// hand. The folder's record went with it, so the broker cannot be asked:
// it is sent SIGTERM, which hands over. (The secret is set, as on the
// hosts of a cluster: a secret file removed with the folder is another
// matter.)
func TestStopStopsTheBrokerOfARemovedDataFolder(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows does not remove a folder whose files a process holds open")
	}
	t.Parallel()
	m := newMesh(t, "IPC_SHARED_SECRET=removed-folder-secret")
	m.mustRun("register", "carol")
	pid := m.status().Broker.PID
	if err := os.RemoveAll(m.dir); err != nil {
		t.Fatal(err)
	}
	r := m.mustRun("stop")
	wantIn(t, "ipcmesh stop of a removed data folder", r.stdout, "stopped the broker", strconv.Itoa(pid))
	if testbin.Alive(pid) {
		t.Errorf("the broker (pid %d) of the removed data folder still runs after ipcmesh stop said %q", pid, r.stdout)
	}
}
