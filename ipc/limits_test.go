package ipc_test

import (
	"encoding/json"
	"errors"
	"sync"
	"testing"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/auth"
	"github.com/ipcmesh/ipcmesh/ipc"
)

func TestRateLimitOps(t *testing.T) {
	m := startMesh(t, func(o *meshOptions) {
		o.Config.Limits.OpsPerSecond = 50
		o.Config.Limits.OpsBurst = 50
	})
	flood := m.join(t, "flood")
	calm := m.join(t, "calm")

	const n = 1000
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		limited []*ipcmesh.Error
		other   []error
	)
	for range n {
		wg.Go(func() {
			err := flood.call(ipc.OpList, nil, nil)
			if err == nil {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			var e *ipcmesh.Error
			if errors.As(err, &e) && e.Code == ipcmesh.CodeRateLimited {
				limited = append(limited, e)
			} else {
				other = append(other, err)
			}
		})
	}
	wg.Wait()
	for _, err := range other {
		t.Errorf("flood got %v, want success or rate_limited", err)
	}
	if len(limited) == 0 {
		t.Fatalf("%d requests at once with a burst of 50 were never rate limited", n)
	}
	if len(limited) == n {
		t.Errorf("every request was refused; the burst should have passed")
	}
	for _, e := range limited {
		if e.RetryAfterMS <= 0 || e.RetryAfter() <= 0 {
			t.Fatalf("rate_limited with RetryAfterMS %d", e.RetryAfterMS)
		}
		wantMention(t, e.Message, "retry in")
	}

	// Another identity is not hurt by the flood.
	for range 10 {
		calm.must(t, ipc.OpStatus, nil, nil)
	}
	calm.send(t, "flood", "are you ok?")
}

func TestRateLimitRegister(t *testing.T) {
	// A burst of 10, as by default, but no attempt comes back while the
	// test runs (2 a second by default): the resume below must meet the
	// limit however long a busy machine takes between the two calls.
	m := startMesh(t, func(o *meshOptions) { o.Config.Limits.RegisterPerSecond = 0.01 })
	m.join(t, "held")
	guesser := m.dial(t)
	var limited *ipcmesh.Error
	for i := 0; i < 40 && limited == nil; i++ {
		err := guesser.call(ipc.OpRegister, ipc.RegisterRequest{Name: "held"}, nil)
		var e *ipcmesh.Error
		if !errors.As(err, &e) {
			t.Fatalf("attempt %d: %v", i, err)
		}
		switch e.Code {
		case ipcmesh.CodeNameTaken:
		case ipcmesh.CodeRateLimited:
			limited = e
		default:
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	if limited == nil {
		t.Fatal("40 register attempts on one connection were never rate limited")
	}
	if limited.RetryAfterMS <= 0 {
		t.Errorf("rate_limited with RetryAfterMS %d", limited.RetryAfterMS)
	}
	wantMention(t, limited.Message, "register", "retry in")
	// Resume attempts count against the same budget.
	err := guesser.call(ipc.OpResume, ipc.ResumeRequest{Token: "v1.x.y"}, nil)
	wantCode(t, err, ipcmesh.CodeRateLimited)

	// The limit is per connection: another one registers at once.
	m.dial(t).register(t, ipc.RegisterRequest{Name: "fresh"})
	err = m.dial(t).call(ipc.OpRegister, ipc.RegisterRequest{Name: "held"}, nil)
	wantCode(t, err, ipcmesh.CodeNameTaken)
}

func TestRateLimitHandshakes(t *testing.T) {
	m := startMesh(t, func(o *meshOptions) {
		o.Config.Limits.HandshakesPerSecond = 0.01
		o.Config.Limits.HandshakeBurst = 2
	})
	var refused *ipcmesh.Error
	for i := 0; i < 5 && refused == nil; i++ {
		p, err := m.tryDial(m.Keys, ipc.DialOptions{})
		if err == nil {
			defer p.Close()
			continue
		}
		if !errors.As(err, &refused) || refused.Code != ipcmesh.CodeRateLimited {
			t.Fatalf("dial %d: %v, want success or rate_limited", i, err)
		}
	}
	if refused == nil {
		t.Fatal("5 connections with a burst of 2 were never refused")
	}
	if refused.RetryAfterMS <= 0 {
		t.Errorf("rate_limited with RetryAfterMS %d", refused.RetryAfterMS)
	}
	wantMention(t, refused.Message, "retry")
}

// A refused hello asks for a wait of at least 1 ms, as every refusal does,
// even when less than a millisecond of it is left: rounded down to 0 (and
// so left out of the answer), it told the client to come back at once,
// into the same refusal.
func TestRateLimitHandshakesRetryAfterLessThan1ms(t *testing.T) {
	m := startMesh(t, func(o *meshOptions) {
		// A hello every 0.5 ms: every refusal is within 0.5 ms of the next
		// place.
		o.Config.Limits.HandshakesPerSecond = 2000
		o.Config.Limits.HandshakeBurst = 1
	})
	nonce, err := auth.NewNonce()
	if err != nil {
		t.Fatal(err)
	}
	hello, _ := json.Marshal(ipc.HelloRequest{Protocol: ipc.Protocol, Versions: ipc.Versions, Nonce: nonce})
	// Hellos sent together, on connections opened beforehand, come faster
	// than one each 0.5 ms; a machine slow enough to space them out is
	// given a few more rounds to refuse one.
	const conns, rounds = 32, 50
	for range rounds {
		rs := make([]*rawConn, conns)
		for i := range rs {
			rs[i] = m.rawDial(t)
		}
		for _, r := range rs {
			if err := r.write(&ipc.Frame{ID: 1, Op: ipc.OpHello, Body: hello}); err != nil {
				t.Fatalf("write hello: %v", err)
			}
		}
		refused := 0
		for _, r := range rs {
			f, err := r.read()
			if err != nil {
				t.Fatalf("the answer to a hello: %v", err)
			}
			r.nc.Close()
			if f.Error == nil {
				continue
			}
			e := wantCode(t, f.Error, ipcmesh.CodeRateLimited)
			if e.RetryAfterMS < 1 {
				t.Fatalf("a refused hello has retry_after_ms %d, want at least 1", e.RetryAfterMS)
			}
			refused++
		}
		if refused > 0 {
			return
		}
	}
	t.Fatalf("%d rounds of %d hellos at once, with room for one every 0.5 ms, were never refused", rounds, conns)
}
