package election

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/testbin"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/auth"
	"github.com/ipcmesh/ipcmesh/store"
)

// mesh is one mesh's shared settings: an address and a data folder that
// every peer of a test uses, as processes of one user would.
type mesh struct {
	t    testing.TB
	addr string
	dir  string
	keys auth.Keys
}

func newMesh(t testing.TB) *mesh {
	t.Helper()
	return &mesh{t: t, addr: testbin.FreeAddr(t), dir: t.TempDir(), keys: testbin.RandomKeys(t)}
}

func (m *mesh) config() Config {
	return Config{Addr: m.addr, DataDir: m.dir, Keys: m.keys}
}

// join starts a peer and registers name on it, if name is not empty.
func (m *mesh) join(name string) *Peer {
	m.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := Join(ctx, m.config())
	if err != nil {
		m.t.Fatalf("join: %v", err)
	}
	m.t.Cleanup(func() { p.Close() })
	if name != "" {
		if _, err := p.Register(ctx, name); err != nil {
			m.t.Fatalf("register %s: %v", name, err)
		}
	}
	return p
}

// kill stops the broker p hosts as abruptly as kill -9 would: connections
// cut, no goaway, the store's lock released.
func kill(t testing.TB, p *Peer) {
	t.Helper()
	p.mu.Lock()
	b := p.broker
	p.broker = nil
	p.mu.Unlock()
	if b == nil {
		t.Fatal("kill: this peer hosts no broker")
	}
	b.Close()
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestFirstPeerHostsOthersJoin(t *testing.T) {
	m := newMesh(t)
	a := m.join("")
	b := m.join("")
	if !a.IsBroker() || b.IsBroker() {
		t.Fatalf("IsBroker: first %v, second %v; want true, false", a.IsBroker(), b.IsBroker())
	}
	st, err := b.Status(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if st.Connections != 2 {
		t.Errorf("status shows %d connections, want 2", st.Connections)
	}
}

func TestFailoverKeepsSessionAndMail(t *testing.T) {
	m := newMesh(t)
	host := m.join("alice")
	bob := m.join("bob")
	ctx := ctxT(t)
	if _, err := host.Send(ctx, "bob", "before"); err != nil {
		t.Fatal(err)
	}
	kill(t, host)
	// bob's next call waits through the election and resumes his session
	// on whichever peer now hosts.
	r, err := bob.Send(ctx, "alice", "after")
	if err != nil {
		t.Fatalf("send after the broker was killed: %v", err)
	}
	if r.Message.From != "bob" {
		t.Errorf("from = %q after failover, want bob", r.Message.From)
	}
	c, err := bob.Check(ctx, 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Messages) != 1 || c.Messages[0].Content != "before" {
		t.Fatalf("bob's mail after failover = %+v, want the message sent before", c.Messages)
	}
	c, err = host.Check(ctx, 10, 5*time.Second)
	if err != nil {
		t.Fatalf("alice checks after her broker died: %v", err)
	}
	if len(c.Messages) != 1 || c.Messages[0].Content != "after" {
		t.Fatalf("alice's mail = %+v, want bob's message", c.Messages)
	}
}

func TestGracefulCloseHandsOver(t *testing.T) {
	m := newMesh(t)
	host := m.join("alice")
	bob := m.join("bob")
	ctx := ctxT(t)
	// A check waiting on the old broker is carried to the next one.
	got := make(chan error, 1)
	go func() {
		c, err := bob.Check(ctx, 10, 10*time.Second)
		if err == nil && (len(c.Messages) != 1 || c.Messages[0].Content != "hello") {
			err = fmt.Errorf("check returned %+v", c.Messages)
		}
		got <- err
	}()
	if err := host.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	carol := m.join("carol")
	if _, err := carol.Send(ctx, "bob", "hello"); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatalf("bob's waiting check across the handover: %v", err)
	}
}

func TestSendsInFlightAcrossFailoverStoredOnce(t *testing.T) {
	m := newMesh(t)
	host := m.join("host")
	sender := m.join("sender")
	m.join("reader")
	ctx := ctxT(t)
	const n = 400
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := sender.Send(ctx, "reader", fmt.Sprint(i)); err != nil {
				errs <- err
			}
		}()
		if i == n/2 {
			kill(t, host)
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("a send failed across the failover: %v", err)
	}
	reader, err := Join(ctx, m.config())
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	if _, err := reader.Resume(ctx, "reader"); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for {
		c, err := reader.Check(ctx, 1000, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Messages) == 0 {
			break
		}
		var ids []string
		for _, msg := range c.Messages {
			seen[msg.Content]++
			ids = append(ids, msg.ID)
		}
		if _, err := reader.Ack(ctx, ids); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		if c := seen[fmt.Sprint(i)]; c != 1 {
			t.Errorf("message %d stored %d times, want once", i, c)
		}
	}
}

func TestRegisterResumesFromSameDataFolder(t *testing.T) {
	m := newMesh(t)
	a := m.join("alice")
	ctx := ctxT(t)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	// Same user, same data folder: the kept token claims the name again.
	b := m.join("")
	s, err := b.Register(ctx, "alice")
	if err != nil {
		t.Fatalf("register again from the same data folder: %v", err)
	}
	if !s.Resumed {
		t.Error("register from the same data folder did not resume the session")
	}
	// Another data folder has no token: the name is taken.
	other := &mesh{t: t, addr: m.addr, dir: t.TempDir(), keys: m.keys}
	c := other.join("")
	if _, err := c.Register(ctx, "alice"); err == nil || !strings.Contains(err.Error(), "alice") {
		t.Fatalf("register alice from another data folder: %v, want name_taken", err)
	}
}

func TestNotAMeshOnThePort(t *testing.T) {
	foreign := testbin.ForeignListener(t)
	m := newMesh(t)
	m.addr = foreign
	_, err := Join(ctxT(t), m.config())
	if err == nil || !strings.Contains(err.Error(), m.addr) || !strings.Contains(err.Error(), "not an ipcmesh broker") {
		t.Fatalf("join with a web server on the port: %v; want an error naming %s", err, m.addr)
	}
}

// A listener that closes connections without a word is what a peer sees
// of an election in progress (the winner could not open the store yet and
// closed its listener): it tries again rather than calling the port's
// holder an impostor, and hosts the broker once the port is free.
func TestSilentCloseOnThePortIsRetried(t *testing.T) {
	m := newMesh(t)
	ln, err := net.Listen("tcp", m.addr)
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan struct{})
	go func() {
		for first := true; ; first = false {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.(*net.TCPConn).SetLinger(0) // a reset, as a closed listener's backlog gets
			c.Close()
			if first {
				close(accepted)
			}
		}
	}()
	joined := make(chan error, 1)
	var p *Peer
	go func() {
		var err error
		p, err = Join(ctxT(t), m.config())
		joined <- err
	}()
	<-accepted
	ln.Close()
	if err := <-joined; err != nil {
		t.Fatalf("join after a silent close on the port: %v", err)
	}
	defer p.Close()
	if !p.IsBroker() {
		t.Error("the peer did not host the broker once the port was free")
	}
}

func TestTwoBrokersCannotShareADataFolder(t *testing.T) {
	m := newMesh(t)
	m.join("")
	other := newMesh(t)
	other.dir, other.keys = m.dir, m.keys
	_, err := Join(ctxT(t), other.config())
	if !errors.Is(err, store.ErrLocked) {
		t.Fatalf("second broker on the same data folder: %v, want ErrLocked", err)
	}
}

// BenchmarkFailover measures the time from the broker's abrupt death to
// the next acknowledged send of a surviving peer.
func BenchmarkFailover(b *testing.B) {
	ctx := context.Background()
	for range b.N {
		b.StopTimer()
		m := newMesh(b)
		host := m.join("host")
		peer := m.join("peer")
		b.StartTimer()
		kill(b, host)
		if _, err := peer.Send(ctx, "host", "after"); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		peer.Close()
		host.Close()
		b.StartTimer()
	}
}

func TestPeersOfTheBrokersFolderWinTheElection(t *testing.T) {
	m := newMesh(t)
	host := m.join("host")
	// A peer of another data folder (another user with the same secret)
	// and a peer of the broker's own folder both survive the broker.
	stranger := &mesh{t: t, addr: m.addr, dir: t.TempDir(), keys: m.keys}
	other := stranger.join("stranger")
	same := m.join("same")
	ctx := ctxT(t)
	if _, err := host.Send(ctx, "same", "kept in the first store"); err != nil {
		t.Fatal(err)
	}
	kill(t, host)
	if _, err := other.Send(ctx, "same", "after"); err != nil {
		t.Fatal(err)
	}
	if other.IsBroker() {
		t.Fatal("the peer of another data folder took over while a peer of the broker's folder was alive")
	}
	c, err := same.Check(ctx, 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Messages) != 2 {
		t.Fatalf("mail after failover = %d messages, want the one from before and the one after", len(c.Messages))
	}
}

// TestRegisterWithNowhereToKeepTheToken registers from a data folder that
// cannot take a token (a file where the sessions folder belongs, which
// stops root too). The register fails saying where and what to do, and
// lets the name go again: a retry from the same folder claims it, where a
// session left without a token would answer name_taken for a day.
func TestRegisterWithNowhereToKeepTheToken(t *testing.T) {
	m := newMesh(t)
	m.join("") // hosts the broker, in a folder of its own
	ctx := ctxT(t)
	client := &mesh{t: t, addr: m.addr, dir: t.TempDir(), keys: m.keys}
	blocked := filepath.Join(client.dir, "sessions")
	if err := os.WriteFile(blocked, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	p := client.join("")
	_, err := p.Register(ctx, "ci")
	if err == nil {
		t.Fatal("register kept its token in a folder that cannot hold one")
	}
	for _, want := range []string{client.dir, "free some space", "ci was let go again"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if name := p.Name(); name != "" {
		t.Errorf("the peer still acts as %q", name)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(blocked); err != nil {
		t.Fatal(err)
	}
	if _, err := client.join("").Register(ctx, "ci"); err != nil {
		t.Fatalf("retry from the same data folder: %v", err)
	}
}

// TestRegisterWithADamagedTokenSaysWhy: the token this folder keeps for a
// name whose session is still live was damaged. Nothing can resume that
// session; the refusal says so, rather than to register from the folder
// that keeps the token, which is this one.
// The file holds letters the mesh's keys cannot read, or bytes that are
// no token at all, or nothing.
func TestRegisterWithADamagedTokenSaysWhy(t *testing.T) {
	m := newMesh(t)
	m.join("") // hosts the broker
	ctx := ctxT(t)
	for i, damage := range []string{"garbage\n", "\x00\x1b[2J\xffjunk\n", "\n"} {
		client := &mesh{t: t, addr: m.addr, dir: t.TempDir(), keys: m.keys}
		name := fmt.Sprintf("ci%d", i)
		if _, err := client.join("").Register(ctx, name); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(client.dir, "sessions", name+".token"), []byte(damage), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := client.join("").Register(ctx, name)
		if ipcmesh.CodeOf(err) != ipcmesh.CodeNameTaken {
			t.Fatalf("register with a token file holding %q of a live session: %v, want name_taken", damage, err)
		}
		for _, want := range []string{"cannot be read", "damaged", filepath.Join(client.dir, "sessions"), "free again once the session expires", name + "-2"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("token file %q: error %q does not say %q", damage, err, want)
			}
		}
	}
}

// TestResumeWithADamagedTokenNamesTheFile: a token file that holds no
// token is told as damaged, by its path, with what to do; it is not
// sent, to be refused in words that name no file.
func TestResumeWithADamagedTokenNamesTheFile(t *testing.T) {
	m := newMesh(t)
	m.join("") // hosts the broker
	ctx := ctxT(t)
	client := &mesh{t: t, addr: m.addr, dir: t.TempDir(), keys: m.keys}
	if _, err := client.join("").Register(ctx, "ci"); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(client.dir, "sessions", "ci.token")
	if err := os.WriteFile(path, []byte("\x00\x1b[2J\xffjunk\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := client.join("").Resume(ctx, "ci")
	if ipcmesh.CodeOf(err) != ipcmesh.CodeNotRegistered {
		t.Fatalf("resume with a damaged token file: %v, want not_registered", err)
	}
	for _, want := range []string{path, "damaged", "register ci again"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}
