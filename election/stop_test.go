package election

import (
	"bufio"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/ipcmesh/ipcmesh/auth"
	"github.com/ipcmesh/ipcmesh/internal/testbin"
	"github.com/ipcmesh/ipcmesh/ipc"
)

// lyingBroker listens on addr as a broker that knows keys' secret and
// proves it, then describes itself as info: a broker of the mesh that
// lies, or a faulty one. It stops when the test ends.
func lyingBroker(t *testing.T, addr string, keys auth.Keys, info ipc.BrokerInfo) {
	t.Helper()
	testbin.Listen(t, addr, func(nc net.Conn) {
		br := bufio.NewReader(nc)
		if proveAs(nc, br, keys, info) {
			br.ReadByte() // until the client hangs up
		}
	})
}

// proveAs answers the handshake of the peer on nc (read through br) as a
// broker that knows keys and describes itself as info, and reports
// whether the peer went through it. The peer's own proof is not checked.
func proveAs(nc net.Conn, br *bufio.Reader, keys auth.Keys, info ipc.BrokerInfo) bool {
	f, err := ipc.ReadFrame(br, 4<<10)
	var hello ipc.HelloRequest
	if err != nil || json.Unmarshal(f.Body, &hello) != nil {
		return false
	}
	bn, _ := auth.NewNonce()
	body, _ := ipc.Marshal(ipc.HelloResponse{Protocol: ipc.Protocol, Version: ipc.Version, Nonce: bn,
		Proof: keys.Proof(auth.RoleBroker, ipc.Version, hello.Nonce, bn)})
	ipc.WriteFrame(nc, &ipc.Frame{ID: f.ID, Body: body})
	if f, err = ipc.ReadFrame(br, 4<<10); err != nil {
		return false
	}
	body, _ = ipc.Marshal(ipc.AuthResponse{Broker: info})
	ipc.WriteFrame(nc, &ipc.Frame{ID: f.ID, Body: body})
	return true
}

// ipcmesh stop signals the pid the broker reports. A pid that cannot be a
// broker's is refused, whoever reports it: 0 and -1 would signal a
// process group or every process the user may signal, and the stopping
// process is not the broker it stops. (Only the last is tried here: a
// stop that took the others would signal far beyond this test.)
func TestStopRefusesAPidNoBrokerHas(t *testing.T) {
	m := newMesh(t)
	lyingBroker(t, m.addr, m.keys, ipc.BrokerInfo{PID: os.Getpid(), Addr: m.addr, DataDir: m.dir})
	_, err := StopBroker(ctxT(t), m.config())
	if err == nil {
		t.Fatal("StopBroker succeeded")
	}
	for _, want := range []string{m.addr, "pid " + strconv.Itoa(os.Getpid()), "nothing was signalled"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("StopBroker: %v; want it to say %q", err, want)
		}
	}
}

// A broker that proved the secret may still name a process that is not
// it: stop signals a pid only once it is seen to listen on the mesh port
// (where the system can tell), so the process named is left running.
func TestStopSignalsOnlyTheProcessOnThePort(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("only linux tells which process listens on a port")
	}
	bystander := exec.Command("sleep", "60")
	if err := bystander.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- bystander.Wait() }()
	t.Cleanup(func() { bystander.Process.Kill(); <-exited })

	m := newMesh(t)
	lyingBroker(t, m.addr, m.keys, ipc.BrokerInfo{PID: bystander.Process.Pid, Addr: m.addr, DataDir: m.dir})
	_, err := StopBroker(ctxT(t), m.config())
	if err == nil {
		t.Fatal("StopBroker succeeded")
	}
	for _, want := range []string{"pid " + strconv.Itoa(bystander.Process.Pid), "does not listen on port", "nothing was signalled"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("StopBroker: %v; want it to say %q", err, want)
		}
	}
	select {
	case err := <-exited:
		t.Errorf("the process the broker named was signalled: %v", err)
	default:
	}
}

// A program on the mesh port that hangs up on every hello is named, with
// what to do, once it has done so for as long as a peer waits: stop said
// only that "the connection to the broker was lost", calling it a broker,
// and gave up at the first hang-up.
func TestStopNamesAProgramThatHangsUp(t *testing.T) {
	m := newMesh(t)
	testbin.Listen(t, m.addr, func(nc net.Conn) { nc.Close() })
	_, err := StopBroker(ctxT(t), m.config())
	if err == nil {
		t.Fatal("StopBroker succeeded")
	}
	for _, want := range []string{m.addr, "not an ipcmesh broker", "stop that program or pick another port with IPC_PORT"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("StopBroker: %v; want it to say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "connection to the broker was lost") {
		t.Errorf("StopBroker: %v; calls the program a broker", err)
	}
}
