package ipc_test

import (
	"encoding/json"
	"testing"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/auth"
	"github.com/ipcmesh/ipcmesh/ipc"
)

// stoppable starts a broker whose owner is told of a stop request on the
// returned channel, and which takes the request only with key.
func stoppable(t *testing.T, key string, tweak func(*meshOptions)) (*mesh, <-chan struct{}) {
	t.Helper()
	asked := make(chan struct{}, 8)
	m := startMesh(t, func(o *meshOptions) {
		o.Config.Stop = func() { asked <- struct{}{} }
		o.Config.StopKey = key
		if tweak != nil {
			tweak(o)
		}
	})
	return m, asked
}

// notAsked fails the test if the broker's owner was told to stop. The
// owner is told before the request is answered, so once an answer has
// come, nothing can still be on its way.
func notAsked(t *testing.T, asked <-chan struct{}, after string) {
	t.Helper()
	select {
	case <-asked:
		t.Fatalf("the broker's owner was told to stop after %s", after)
	default:
	}
}

// A stop request is served only on a connection that proved the secret,
// and only with the broker's stop key, which its owner keeps in the data
// folder: a peer that knows the secret may be on another host, or another
// user's, and must not stop the broker. A broker asked twice stops once.
func TestStopNeedsTheSecretAndTheKey(t *testing.T) {
	const key = "K7Q2ZJ4RWM3XN6TB5VYHC2DLPA"
	m, asked := stoppable(t, key, nil)
	stop, _ := json.Marshal(ipc.StopRequest{Key: key})

	// Before the handshake: the broker wants a hello, and hangs up.
	r := m.rawDial(t)
	if err := r.write(&ipc.Frame{ID: 1, Op: ipc.OpStop, Body: stop}); err != nil {
		t.Fatal(err)
	}
	got := r.wantClosed()
	if len(got) != 1 || got[0].Error == nil || got[0].Error.Code != ipcmesh.CodeBadRequest {
		t.Errorf("a stop sent before the hello was answered %+v; want one bad_request, then the connection closed", got)
	}
	notAsked(t, asked, "a stop sent before the hello")

	// With a wrong proof of the secret: refused, then nothing is read.
	r = m.rawDial(t)
	cn, _ := auth.NewNonce()
	r.hello(cn)
	proof, _ := json.Marshal(ipc.AuthRequest{Proof: make([]byte, 32)})
	r.write(&ipc.Frame{ID: 2, Op: ipc.OpAuth, Body: proof})
	r.write(&ipc.Frame{ID: 3, Op: ipc.OpStop, Body: stop})
	for _, f := range r.wantClosed() {
		if f.ID == 3 {
			t.Errorf("a stop after a wrong proof of the secret was answered: %+v", f)
		}
	}
	notAsked(t, asked, "a stop after a wrong proof of the secret")

	// With the secret but not the key.
	p := m.dial(t)
	for _, wrong := range []string{"", "K7Q2ZJ4RWM3XN6TB5VYHC2DLPB", key + "A"} {
		err := p.call(ipc.OpStop, ipc.StopRequest{Key: wrong}, nil)
		e := wantCode(t, err, ipcmesh.CodeUnauthorized)
		wantMention(t, e.Message, "stop_key", "broker.json", m.Dir)
		notAsked(t, asked, "a stop with the key "+wrong)
	}
	var st ipc.StatusResult
	p.must(t, ipc.OpStatus, nil, &st)

	// With both, once and again.
	for range 2 {
		if err := p.call(ipc.OpStop, ipc.StopRequest{Key: key}, nil); err != nil {
			t.Fatalf("stop with the broker's key: %v", err)
		}
	}
	select {
	case <-asked:
	default:
		t.Fatal("a stop with the broker's key was answered, but its owner was not told")
	}
	notAsked(t, asked, "a second stop: the owner is told once")
}

// A broker whose owner cannot be asked to stop it (a process that hosts
// the broker for itself) says so, whatever the key: ipcmesh stop then
// signals its process, as before.
func TestStopRefusedWhereNoOwnerListens(t *testing.T) {
	m := startMesh(t, nil)
	p := m.dial(t)
	err := p.call(ipc.OpStop, ipc.StopRequest{Key: "K7Q2ZJ4RWM3XN6TB5VYHC2DLPA"}, nil)
	e := wantCode(t, err, ipcmesh.CodeUnsupported)
	wantMention(t, e.Message, "cannot be asked to stop")
	p.must(t, ipc.OpStatus, nil, nil)
}

// Keys tried on one connection are limited as names tried at register
// are: a refused try says when to try again.
func TestStopKeyTriesAreLimited(t *testing.T) {
	const key = "K7Q2ZJ4RWM3XN6TB5VYHC2DLPA"
	m, asked := stoppable(t, key, func(o *meshOptions) {
		o.Config.Limits.RegisterPerSecond = 0.001
		o.Config.Limits.RegisterBurst = 3
	})
	p := m.dial(t)
	for range 3 {
		wantCode(t, p.call(ipc.OpStop, ipc.StopRequest{Key: "wrong"}, nil), ipcmesh.CodeUnauthorized)
	}
	e := wantCode(t, p.call(ipc.OpStop, ipc.StopRequest{Key: key}, nil), ipcmesh.CodeRateLimited)
	if e.RetryAfterMS <= 0 {
		t.Errorf("a stop refused for the rate says no time to wait: %+v", e)
	}
	notAsked(t, asked, "a stop past the limit")
	// Another connection has a budget of its own.
	if err := m.dial(t).call(ipc.OpStop, ipc.StopRequest{Key: key}, nil); err != nil {
		t.Fatalf("stop on a fresh connection: %v", err)
	}
}
