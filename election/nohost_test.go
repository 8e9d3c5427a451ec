package election

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/proc"
)

// TestPortMayFree: a port that refuses connections and cannot be bound is
// waited for only while a broker lives that may be letting it go: the
// data folder's broker on that port, or the one the peer lost. Anything
// else holding it, or an address this machine cannot listen on, is no
// broker coming: the peer says so rather than try for 10 s.
func TestPortMayFree(t *testing.T) {
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	addr := held.Addr().String()
	_, inUse := net.Listen("tcp", addr)
	if !addrInUse(inUse) {
		t.Fatalf("binding a port with a listener failed with %v, which addrInUse does not take for the port in use", inUse)
	}
	notHere := &net.OpError{Op: "listen", Net: "tcp", Err: os.NewSyscallError("bind", syscall.EADDRNOTAVAIL)}
	if addrInUse(notHere) {
		t.Fatalf("addrInUse(%v) = true", notHere)
	}

	free := Config{Addr: addr, DataDir: t.TempDir()}
	recorded := func(port string) Config {
		dir := t.TempDir()
		start, _ := proc.Started(os.Getpid()) // "": the pid alone counts
		// This process stands for the live broker the record names.
		if err := writeBrokerRecord(dir, brokerRecord{PID: os.Getpid(), Start: start, Addr: "127.0.0.1:" + port, Started: time.Now()}); err != nil {
			t.Fatal(err)
		}
		return Config{Addr: addr, DataDir: dir}
	}
	_, port, _ := net.SplitHostPort(addr)
	for _, tc := range []struct {
		what string
		cfg  Config
		bind error
		lost int
		want bool
	}{
		{"held, no broker recorded or lost", free, inUse, 0, false},
		{"held, the folder's live broker recorded on the port", recorded(port), inUse, 0, true},
		{"held, the folder's live broker recorded on another port", recorded("1"), inUse, 0, false},
		{"held, the lost broker still lives", free, inUse, os.Getpid(), true},
		{"not this machine's address, a live broker recorded", recorded(port), notHere, os.Getpid(), false},
	} {
		if got := portMayFree(tc.cfg, tc.bind, tc.lost); got != tc.want {
			t.Errorf("%s: portMayFree = %v, want %v", tc.what, got, tc.want)
		}
	}
}

// TestNoHostSaysWhatToDo: the error of a peer that found no broker and
// could not host one says why no broker can start, and what to do.
func TestNoHostSaysWhatToDo(t *testing.T) {
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	_, inUse := net.Listen("tcp", held.Addr().String())
	refusedDial := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	for _, tc := range []struct {
		bind error
		want []string
	}{
		{inUse, []string{"no broker answers on 127.0.0.1:9876 (connect: ", "a program holds the port without taking connections (bind: ", "stop that program or pick another port with IPC_PORT"}},
		{&net.OpError{Op: "listen", Net: "tcp", Err: os.NewSyscallError("bind", syscall.EADDRNOTAVAIL)},
			[]string{"no broker answers on 127.0.0.1:9876 (connect: ", "none can start on this machine, which cannot listen there (bind: ", "start ipcmesh where IPC_HOST and IPC_PORT point"}},
	} {
		got := (&noHost{addr: "127.0.0.1:9876", dial: refusedDial, bind: tc.bind}).Error()
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("the error %q does not say %q", got, w)
			}
		}
	}
}

// TestCallersElsewhereAreNotToldLocalPaths: a peer that acts for callers
// on other machines (the HTTP face) and cannot rejoin the mesh fails their
// calls, a call whose broker was lost before it answered too, in words
// that name no file of its machine, where the store it could not open
// named the user's home folder; other peers name the cause, for the user
// of their own machine.
func TestCallersElsewhereAreNotToldLocalPaths(t *testing.T) {
	dir := t.TempDir()
	cause := fmt.Errorf("open store %s: invalid database", filepath.Join(dir, "ipcmesh.db"))
	for _, elsewhere := range []bool{false, true} {
		p := &Peer{cfg: Config{DataDir: dir, CallersElsewhere: elsewhere}, ready: make(chan struct{})}
		p.setFatal(cause)
		for _, err := range []error{p.fatal, &answerLost{op: "wait_reply", err: p.fatal}} {
			msg := err.Error()
			if !errors.Is(err, ErrUnreachable) {
				t.Errorf("CallersElsewhere %v: %q is not ErrUnreachable", elsewhere, msg)
			}
			if named := strings.Contains(msg, dir); named != !elsewhere {
				t.Errorf("CallersElsewhere %v: the error %q names the data folder: %v, want %v", elsewhere, msg, named, !elsewhere)
			}
			if elsewhere && !strings.Contains(msg, "its log says why") {
				t.Errorf("the error %q does not say where the cause is", msg)
			}
		}
	}
}
