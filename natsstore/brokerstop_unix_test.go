//go:build unix

package natsstore_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/natstest"
	"github.com/ipcmesh/ipcmesh/natsstore"
	"github.com/ipcmesh/ipcmesh/store"
)

// The broker's process stops (SIGSTOP, or Ctrl-Z) while a write waits
// for the cluster, and runs again after the write's time is up, with the
// cluster whole all along. The write must succeed once the cluster
// answers: it failed with unavailable, saying that the cluster had no
// quorum and that nothing was stored, when the cluster had stored it.
//
// The server the broker is connected to, which leads none of the streams
// the write goes to, stops answering first, so that no answer can come
// in before the process stops, nor before its timers have fired once it
// runs again: the broker's own stop is what the write must ride out.

// stopWriteTimeout is the write timeout of a broker that is stopped:
// shorter than its stop.
const stopWriteTimeout = 2 * time.Second

// TestWriteOfABrokerStoppedWhileItWaitsIsAckedOnceItRuns: the stop comes
// while a send's event waits for its ack (in the soak that found it, the
// send made again with its id was a duplicate).
func TestWriteOfABrokerStoppedWhileItWaitsIsAckedOnceItRuns(t *testing.T) {
	r := newStopRig(t, "%s")
	a := r.s
	mustAppendTo(t, a, draft("before", "alice", "bob", "with every server up"))

	err := r.stopWhile(t, 3*time.Second, 0, func() error {
		ds, err := a.Append(context.Background(), []store.Draft{draft("during", "alice", "bob", "while the broker is stopped")})
		if err == nil {
			err = ds[0].Err
		}
		return err
	})
	if err != nil {
		t.Fatalf("the write made before the broker stopped: %v", err)
	}
	if n, err := a.UnreadCount("bob"); err != nil || n != 2 {
		t.Errorf("bob's unread = %d, %v; want both messages", n, err)
	}
}

// TestRegisterOfABrokerStoppedWhileItStoresTheSessionSucceedsOnceItRuns:
// the stop comes while a register's session waits for its ack, the name
// taken. A register has one time for both, from when the broker took it
// (ipc's decideCtx), which ran out in the stop as well: the session was
// not published again, and the register failed.
func TestRegisterOfABrokerStoppedWhileItStoresTheSessionSucceedsOnceItRuns(t *testing.T) {
	r := newStopRig(t, "%s")
	a := r.s
	ctx, cancel := context.WithTimeout(context.Background(), a.WriteTimeout())
	defer cancel()
	if err := a.Claim(ctx, "alice"); err != nil {
		t.Fatalf("take alice with every server up: %v", err)
	}

	err := r.stopWhile(t, 3*time.Second, 0, func() error {
		return a.PutSession(ctx, session("alice"))
	})
	if err != nil {
		t.Fatalf("the register's session, stored as the broker stopped: %v", err)
	}
	registered(t, a, "alice")
}

// TestRegisterOfABrokerStoppedWhileItTakesTheNameSucceedsOnceItRuns: the
// stop comes while a register takes its name mesh-wide. The take was not
// made again, and the register failed; made again, it finds the name
// held by this host, and the session, whose time ran out in the stop too,
// is stored after it.
func TestRegisterOfABrokerStoppedWhileItTakesTheNameSucceedsOnceItRuns(t *testing.T) {
	r := newStopRig(t, "KV_%s-names")
	a := r.s

	err := r.stopWhile(t, 3*time.Second, 0, func() error {
		// As the broker registers: one time for the take and the session.
		ctx, cancel := context.WithTimeout(context.Background(), a.WriteTimeout())
		defer cancel()
		if err := a.Claim(ctx, "alice"); err != nil {
			return err
		}
		return a.PutSession(ctx, session("alice"))
	})
	if err != nil {
		t.Fatalf("the register that took its name as the broker stopped: %v", err)
	}
	registered(t, a, "alice")
}

// TestLargeWriteOfABrokerStoppedWhileItUploadsIsAckedOnceItRuns: the stop
// comes while a large message's body is uploaded to the bodies bucket,
// and outlasts the upload's time. The upload was not made again, and the
// send failed, its body "not stored".
func TestLargeWriteOfABrokerStoppedWhileItUploadsIsAckedOnceItRuns(t *testing.T) {
	r := newStopRig(t, "OBJ_%s-bodies")
	a := r.s
	// Just too large for one NATS message (1 MiB less room for the
	// headers): the least upload, whose time is the write's and 3 s each
	// way (there, and read back).
	body := strings.Repeat("0123456789abcdef", (1<<20-2048)/16)
	stopped := stopWriteTimeout + 2*natsstore.TransferTime(len(body)) + 2*time.Second

	// The server runs again a second before the broker does, and answers
	// the upload's first request into its connection; once the broker
	// runs, the upload's time is up before it can go on. A put made just
	// as a server stopped for seconds ran again mostly had no ack for its
	// chunks within 5 s, though one a moment later took under a second.
	err := r.stopWhile(t, stopped, time.Second, func() error {
		ds, err := a.Append(context.Background(), []store.Draft{draft("large", "alice", "bob", body)})
		if err == nil {
			err = ds[0].Err
		}
		return err
	})
	if err != nil {
		t.Fatalf("the large write whose body was uploaded as the broker stopped: %v", err)
	}
	if _, got, err := a.Get("bob", "large"); err != nil || got != body {
		t.Errorf("Get(bob, large) = %d bytes, %v; want the %d bytes sent", len(got), err, len(body))
	}
}

func session(name string) store.Session {
	return store.Session{Name: name, ID: "session-of-" + name, Expires: time.Now().Add(time.Hour)}
}

// registered fails t unless s holds name mesh-wide and has its session.
func registered(t *testing.T, s *natsstore.Store, name string) {
	t.Helper()
	if !s.Held(name) {
		t.Errorf("%s is not held mesh-wide after its register", name)
	}
	if got, ok, err := s.Session(name); err != nil || !ok || got.ID != session(name).ID {
		t.Errorf("Session(%s) = %+v, %v, %v; want %s", name, got, ok, err, session(name).ID)
	}
}

// stopRig is a broker's store to stop, on a cluster of its own: s is
// connected to server alone, which leads none of the streams the writes
// at stake go to, and asking hears of each request of a write to the
// cluster as it begins.
type stopRig struct {
	nats   *natstest.Procs
	server int
	s      *natsstore.Store
	asking chan struct{}
}

// newStopRig starts a cluster, makes a mesh on it (its log then has a
// leader) and opens a store with writes of stopWriteTimeout, connected
// to a server that leads none of streams, each a stream's name with %s
// for the mesh's prefix.
func newStopRig(t *testing.T, streams ...string) *stopRig {
	t.Helper()
	r := &stopRig{nats: natstest.StartProcs(t), asking: make(chan struct{}, 1000)}
	p := shared.Prefix()
	openOnProcs(t, r.nats, p, nil)
	leads := make(map[int]bool)
	for _, st := range streams {
		leads[r.nats.Leader(fmt.Sprintf(st, p))] = true
	}
	r.server = slices.IndexFunc([]int{0, 1, 2}, func(i int) bool { return !leads[i] })
	if r.server < 0 {
		t.Fatalf("every server of the cluster leads one of %v", streams)
	}
	r.s = openOnProcs(t, r.nats, p, func(o *natsstore.Options) {
		o.URL = strings.Split(r.nats.URL(), ",")[r.server]
		o.WriteTimeout = stopWriteTimeout
		natsstore.OnAsking(o, func() {
			select {
			case r.asking <- struct{}{}:
			default:
			}
		})
	})
	return r
}

// stopWhile runs write, a write of r.s, and stops this process for
// stopped once the write's first request to the cluster began, r.server
// stopped before. The server runs again ahead
// of this process by serverFirst, or after it when that is 0. It returns
// write's error.
func (r *stopRig) stopWhile(t *testing.T, stopped, serverFirst time.Duration, write func() error) error {
	t.Helper()
	nats, server, asking := r.nats, r.server, r.asking
	for len(asking) > 0 {
		<-asking
	}
	nats.Freeze(server)
	t.Cleanup(func() { nats.Thaw(server) })
	done := make(chan error, 1)
	go func() { done <- write() }()
	<-asking
	// By a child that resumes it: the stop is the fault, not a wait.
	secs := func(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) }
	stop := exec.Command("sh", "-c", `kill -STOP "$1"; sleep "$2"; [ "$4" = 0 ] || kill -CONT "$3"; sleep "$4"; kill -CONT "$1"`,
		"sh", strconv.Itoa(os.Getpid()), secs(stopped-serverFirst), strconv.Itoa(nats.Pid(server)), secs(serverFirst))
	if out, err := stop.CombinedOutput(); err != nil {
		t.Fatalf("stop this process for %v: %v %s", stopped, err, out)
	}
	nats.Thaw(server)
	select {
	case err := <-done:
		return err
	case <-time.After(time.Minute):
		t.Fatalf("the write made before the broker stopped for %v has no answer a minute after it ran again", stopped)
		return nil
	}
}
