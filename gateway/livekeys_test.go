package gateway

import (
	"errors"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/auth"
	"github.com/ipcmesh/ipcmesh/internal/testbin"
)

// remembered reports whether the face trusts key without asking the
// broker: the precondition that makes the revocation tests below about
// the memory, not about the broker's check.
func (f *face) remembered(name, key string) bool {
	f.t.Helper()
	id, err := auth.AccessKeyID(key)
	if err != nil {
		f.t.Fatal(err)
	}
	_, ok := f.srv.sessions.liveKey(name, id)
	return ok
}

func (f *face) keyID(key string) string {
	f.t.Helper()
	id, err := auth.AccessKeyID(key)
	if err != nil {
		f.t.Fatal(err)
	}
	return id
}

// liveKey makes a key for name and uses it until the face remembers it:
// the first request registers the name, the second is checked with the
// broker once more and remembered, the third needs no check. It returns
// the key and a request that reads name's inbox with it.
func (f *face) liveKey(name string) (string, req) {
	f.t.Helper()
	key := f.key(name)
	inbox := req{method: "GET", path: "/api/v1/messages", key: key}
	for range 3 {
		f.ok(inbox, 200, nil)
	}
	if !f.remembered(name, key) {
		f.t.Fatalf("the face does not remember %s's live key after three requests", name)
	}
	return key, inbox
}

func TestRevokedKeyRefusedAtOnce(t *testing.T) {
	f := newFace(t, nil)
	key, inbox := f.liveKey("alice")
	other := f.key("alice")
	f.ok(req{method: "GET", path: "/api/v1/me", key: other}, 200, nil)

	if _, err := f.ctl.RevokeKeys(ctxT(t), f.keyID(key), ""); err != nil {
		t.Fatal(err)
	}
	// The broker pushes key_revoked to alice's connections before it
	// answers the revoke: the very next request is refused.
	e := f.fails(inbox, 401, "unauthorized")
	if !containsAll(e.Error.Message, "revoked", f.keyID(key)) {
		t.Errorf("the revoked key's error says %q; want it to say that key %s was revoked", e.Error.Message, f.keyID(key))
	}
	f.fails(req{method: "POST", path: "/api/v1/messages", key: key, body: map[string]string{"to": "bob", "content": "hi"}}, 401, "unauthorized")
	// alice's other key still works.
	f.ok(req{method: "GET", path: "/api/v1/messages", key: other}, 200, nil)
}

// TestRevokedWhileDisconnected revokes a key while the face's connections
// to the broker are down, so that the key_revoked push reaches no one:
// the face must not trust what it remembered from before.
func TestRevokedWhileDisconnected(t *testing.T) {
	var px *proxy
	f := newFace(t, func(o *Options) {
		overTCP(o)
		px = newProxy(t, o.Mesh.Addr)
		o.Mesh.Addr = px.addr
	})
	key, inbox := f.liveKey("alice")

	px.cut()
	online := func() bool {
		st, err := f.ctl.Status(ctxT(t))
		if err != nil {
			t.Fatal(err)
		}
		return slices.Contains(st.Online, "alice")
	}
	testbin.Eventually(t, 10*time.Second, "the broker to see alice's connection gone", func() bool { return !online() })
	// No connection acts as alice: the push of this revocation is lost.
	if _, err := f.ctl.RevokeKeys(ctxT(t), f.keyID(key), ""); err != nil {
		t.Fatal(err)
	}
	px.resume()
	testbin.Eventually(t, 10*time.Second, "alice's peer to be back on the broker", online)

	f.fails(inbox, 401, "unauthorized")
	// A new key of alice's is checked, and then remembered anew.
	fresh := f.key("alice")
	for range 2 {
		f.ok(req{method: "GET", path: "/api/v1/messages", key: fresh}, 200, nil)
	}
	if !f.remembered("alice", fresh) {
		t.Error("the face remembers no key of alice's once its connection is back")
	}
}

// proxy forwards TCP connections on 127.0.0.1 to a target, and can cut
// them: the face's connections to the broker pass through it.
type proxy struct {
	t      testing.TB
	addr   string
	target string

	mu    sync.Mutex
	open  chan struct{} // closed while connections are forwarded
	conns []net.Conn
}

func newProxy(t testing.TB, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{t: t, addr: ln.Addr().String(), target: target, open: make(chan struct{})}
	close(p.open)
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		p.resume()
		p.closeAll()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { p.serve(c) })
		}
	})
	return p
}

// serve forwards c once the proxy is open: a connection made while it is
// cut waits, as one to a broker that is slow to answer.
func (p *proxy) serve(c net.Conn) {
	p.mu.Lock()
	open := p.open
	p.conns = append(p.conns, c)
	p.mu.Unlock()
	<-open
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.conns = append(p.conns, up)
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		io.Copy(dst, src)
		dst.Close()
		src.Close()
		done <- struct{}{}
	}
	go pipe(up, c)
	go pipe(c, up)
	<-done
	<-done
}

// cut closes every connection and holds new ones until resume.
func (p *proxy) cut() {
	p.mu.Lock()
	p.open = make(chan struct{})
	p.mu.Unlock()
	p.closeAll()
}

func (p *proxy) resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.open:
	default:
		close(p.open)
	}
}

func (p *proxy) closeAll() {
	p.mu.Lock()
	conns := p.conns
	p.conns = nil
	p.mu.Unlock()
	for _, c := range conns {
		if err := c.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			p.t.Logf("proxy: close: %v", err)
		}
	}
}

// session returns the face's session of name.
func (f *face) session(name string) *session {
	f.t.Helper()
	m := f.srv.sessions
	m.mu.Lock()
	defer m.mu.Unlock()
	sess := m.byName[name]
	if sess == nil {
		f.t.Fatalf("the face has no session of %s", name)
	}
	return sess
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
