//go:build unix

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/ipcmesh/ipcmesh/internal/testbin"
	"github.com/ipcmesh/ipcmesh/store"
)

// TestBrokerKilledWhileOpeningIsReplaced: the broker a peer starts can die
// before it serves, killed (kill -9, the OOM killer) while it opens the
// store. Its port is free again, as after any broker lost, so the peer
// runs the election again instead of failing: a check waiting for mail
// gets it. The test holds the store's lock so that the broker it kills is
// caught opening, not serving.
func TestBrokerKilledWhileOpeningIsReplaced(t *testing.T) {
	t.Parallel()
	m := newMesh(t)
	m.mustRun("register", "w")
	m.mustRun("register", "sender")
	first, ok := testbin.DetachedBroker(m.dir)
	if !ok {
		t.Fatal("register started no detached broker")
	}
	m.mustRun("stop")
	testbin.Eventually(t, runTimeout, "the stopped broker to exit", func() bool { return !testbin.Alive(first) })

	db, err := os.OpenFile(store.DatabasePath(m.dir), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := syscall.Flock(int(db.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	check := m.start(nil, "check", "--as", "w", "--wait", "5m")
	var opening int
	testbin.Eventually(t, startTimeout, "the check's broker to wait for the store", func() bool {
		if check.hasExited() {
			t.Fatalf("check exited (%d) before its broker opened the store: %s", check.code, check.stderr.String())
		}
		opening = openingBroker(m.dir)
		return opening != 0
	})
	if err := signalPID(opening, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	testbin.Eventually(t, runTimeout, "the killed broker to exit", func() bool { return !testbin.Alive(opening) })
	if err := syscall.Flock(int(db.Fd()), syscall.LOCK_UN); err != nil {
		t.Fatal(err)
	}

	testbin.Eventually(t, runTimeout, "the check to wait on the next broker", func() bool {
		if check.hasExited() {
			t.Fatalf("check exited (%d) when the broker it started was killed while opening the store, want it to wait on the next one: %s",
				check.code, check.stderr.String())
		}
		return m.status().Waiting == 1
	})
	m.mustRun("send", "--as", "sender", "w", "after a broker died opening the store")
	if code := check.wait(runTimeout); code != 0 {
		t.Fatalf("check exited %d: %s", code, check.stderr.String())
	}
	if out := check.stdout.String(); !strings.Contains(out, "after a broker died opening the store") {
		t.Errorf("check printed %q, want sender's message", out)
	}
	if pid, ok := testbin.DetachedBroker(m.dir); !ok || pid == opening {
		t.Errorf("no broker serves the folder after the one opening it was killed (record: pid %d, live %v)", pid, ok)
	}
}

// openingBroker is the pid of the live broker that the data folder's
// record says is opening the store, 0 if there is none.
func openingBroker(dir string) int {
	var rec struct {
		PID     int  `json:"pid"`
		Opening bool `json:"opening"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "broker.json"))
	if err != nil || json.Unmarshal(b, &rec) != nil || !rec.Opening || rec.PID <= 0 || !testbin.Alive(rec.PID) {
		return 0
	}
	return rec.PID
}
