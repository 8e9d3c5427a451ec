package ipc_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/auth"
	"github.com/ipcmesh/ipcmesh/internal/natsmesh"
	"github.com/ipcmesh/ipcmesh/internal/natstest"
	"github.com/ipcmesh/ipcmesh/internal/testbin"
	"github.com/ipcmesh/ipcmesh/ipc"
	"github.com/ipcmesh/ipcmesh/natsstore"
	"github.com/ipcmesh/ipcmesh/store"
)

// callTimeout bounds every request a test makes, so that a broker that
// never answers fails the test instead of hanging it. It is a guard, not a
// speed assertion: most answers here are due in milliseconds, but an 8 MiB
// message through the JetStream store under the race detector, on a
// 2-core machine busy with other packages' tests, has taken 30 s.
const callTimeout = 90 * time.Second

// newKeys derives keys from a fresh random secret.
func newKeys(tb testing.TB) auth.Keys {
	tb.Helper()
	secret := make([]byte, 32)
	rand.Read(secret)
	k, err := auth.DeriveKeys(secret)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// mesh is a broker on a real store and a real loopback listener.
type mesh struct {
	Broker *ipc.Broker
	Store  ipc.Store
	Dir    string
	Addr   string
	Keys   auth.Keys
	served chan error
}

// meshOptions adjust a test mesh before its broker starts.
type meshOptions struct {
	Store  store.Options // Dir is filled in
	Config ipc.Config    // Store, Keys and Addr are filled in
	// Wrap, if set, wraps the listener the broker serves.
	Wrap func(net.Listener) net.Listener
}

// storeKind is one implementation of ipc.Store that the mail tests run on.
type storeKind struct {
	name string
	open func(tb testing.TB, o store.Options) (ipc.Store, error)
}

// storeKinds are every store the broker can keep its state in: the tests
// of mail, channels and names run on each, from this one table.
var storeKinds = []storeKind{
	{"bbolt", func(_ testing.TB, o store.Options) (ipc.Store, error) { return store.Open(o) }},
	{"nats", func(tb testing.TB, o store.Options) (ipc.Store, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		return natsstore.Open(ctx, natsstore.Options{URL: natsCluster.Get(tb).URL(), Prefix: natsMesh(tb), Store: o, WriteTimeout: natsWriteTimeout}, nil)
	}},
}

// natsWriteTimeout replaces the store's 5 s for these tests, none of which
// takes the cluster's quorum away: the broker, its clients and all three
// nodes run in this race-built process, and TestMaxMessage's 8 MiB body,
// 64 chunks each stored on three nodes, once took longer than 5 s there
// while other packages' tests held both cores.
const natsWriteTimeout = 30 * time.Second

// natsCluster is the NATS JetStream cluster the "nats" store kind uses,
// started by the first test that needs it.
var natsCluster natstest.Cluster

func TestMain(m *testing.M) { os.Exit(natstest.Main(m, &natsCluster)) }

// natsMesh returns the prefix of a mesh of the test's own in natsCluster,
// dropped when the test ends.
func natsMesh(tb testing.TB) string {
	tb.Helper()
	return natsmesh.Prefix(tb, &natsCluster)
}

// forEachStore runs test once on every store kind, as a subtest named
// after it.
func forEachStore(t *testing.T, test func(*testing.T, storeKind)) {
	for _, k := range storeKinds {
		t.Run(k.name, func(t *testing.T) { test(t, k) })
	}
}

// startMesh starts a broker on a bbolt store in a fresh data folder; the
// broker is stopped when the test ends. tweak may change the options first.
func startMesh(tb testing.TB, tweak func(*meshOptions)) *mesh {
	tb.Helper()
	return startMeshOn(tb, storeKinds[0], tweak)
}

// startMeshOn is startMesh on a store of the given kind.
func startMeshOn(tb testing.TB, kind storeKind, tweak func(*meshOptions)) *mesh {
	tb.Helper()
	var o meshOptions
	if tweak != nil {
		tweak(&o)
	}
	o.Store.Dir = tb.TempDir()
	st, err := kind.open(tb, o.Store)
	if err != nil {
		tb.Fatalf("open the %s store: %v", kind.name, err)
	}
	return serveMesh(tb, st, o)
}

// serveMesh starts a broker on st, an open store, which the broker closes
// when it stops.
func serveMesh(tb testing.TB, st ipc.Store, o meshOptions) *mesh {
	tb.Helper()
	if o.Config.Keys.Proof(auth.RoleBroker, ipc.Version, nil, nil) == nil {
		o.Config.Keys = newKeys(tb) // the zero Keys proves nothing
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		st.Close()
		tb.Fatalf("listen: %v", err)
	}
	o.Config.Store = st
	o.Config.Addr = ln.Addr().String()
	m := &mesh{
		Broker: ipc.NewBroker(o.Config),
		Store:  st,
		Dir:    st.Dir(),
		Addr:   ln.Addr().String(),
		Keys:   o.Config.Keys,
		served: make(chan error, 1),
	}
	var served net.Listener = ln
	if o.Wrap != nil {
		served = o.Wrap(ln)
	}
	go func() { m.served <- m.Broker.Serve(served) }()
	tb.Cleanup(func() {
		m.Broker.Close()
		if err := <-m.served; !errors.Is(err, ipc.ErrBrokerClosed) {
			tb.Errorf("Serve returned %v, want ErrBrokerClosed", err)
		}
	})
	return m
}

// peer is a client with a record of the events pushed to it.
type peer struct {
	*ipc.Client
	Events  *eventLog
	Session ipc.Session
}

// dial connects a client and closes it when the test ends.
func (m *mesh) dial(tb testing.TB) *peer {
	tb.Helper()
	p, err := m.tryDial(m.Keys, ipc.DialOptions{})
	if err != nil {
		tb.Fatalf("Dial: %v", err)
	}
	tb.Cleanup(func() { p.Close() })
	return p
}

func (m *mesh) tryDial(keys auth.Keys, opts ipc.DialOptions) (*peer, error) {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	p := &peer{Events: newEventLog()}
	if opts.OnEvent == nil {
		opts.OnEvent = p.Events.add
	}
	c, err := ipc.Dial(ctx, m.Addr, keys, opts)
	if err != nil {
		return nil, err
	}
	p.Client = c
	return p, nil
}

// join dials and registers name, subscribed to pushed events.
func (m *mesh) join(tb testing.TB, name string) *peer {
	tb.Helper()
	p := m.dial(tb)
	p.Session = p.register(tb, ipc.RegisterRequest{Name: name, Subscribe: true})
	return p
}

func (p *peer) register(tb testing.TB, req ipc.RegisterRequest) ipc.Session {
	tb.Helper()
	var s ipc.Session
	p.must(tb, ipc.OpRegister, req, &s)
	if s.Name != req.Name || s.Token == "" {
		tb.Fatalf("register %s: got session %+v", req.Name, s)
	}
	return s
}

// call makes a request with the test's timeout.
func (p *peer) call(op string, in, out any) error {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	return p.Call(ctx, op, in, out)
}

// must makes a request and fails the test if it is refused.
func (p *peer) must(tb testing.TB, op string, in, out any) {
	tb.Helper()
	if err := p.call(op, in, out); err != nil {
		tb.Fatalf("%s: %v", op, err)
	}
}

// send sends content to to with a fresh id and fails the test on refusal.
func (p *peer) send(tb testing.TB, to, content string) ipc.SendResult {
	tb.Helper()
	var res ipc.SendResult
	p.must(tb, ipc.OpSend, ipc.SendRequest{ID: ipc.NewID(), Outgoing: ipc.Outgoing{To: to, Content: content}}, &res)
	return res
}

// check returns the unread messages without waiting.
func (p *peer) check(tb testing.TB) []ipcmesh.Message {
	tb.Helper()
	var res ipc.CheckResult
	p.must(tb, ipc.OpCheck, ipc.CheckRequest{Limit: 1000}, &res)
	return res.Messages
}

// awaitWaiting returns once the broker holds n requests open for mail, as
// its status tells p. Nothing is pushed when a request starts to wait, so
// this asks until it is so.
func awaitWaiting(tb testing.TB, p *peer, n int) {
	tb.Helper()
	testbin.Eventually(tb, callTimeout, fmt.Sprintf("the broker to hold %d requests waiting for mail", n), func() bool {
		var st ipc.StatusResult
		p.must(tb, ipc.OpStatus, nil, &st)
		return st.Waiting == n
	})
}

// eventLog keeps every pushed event; it never blocks the client's reader.
type eventLog struct {
	mu     sync.Mutex
	events []ipc.Event
	more   chan struct{} // closed and replaced on each new event
}

func newEventLog() *eventLog { return &eventLog{more: make(chan struct{})} }

func (l *eventLog) add(ev ipc.Event) {
	l.mu.Lock()
	l.events = append(l.events, ev)
	close(l.more)
	l.more = make(chan struct{})
	l.mu.Unlock()
}

// await waits for the first event named name for which match (if not nil)
// is true, looking at every event seen so far and those to come.
func (l *eventLog) await(tb testing.TB, name string, match func(json.RawMessage) bool) ipc.Event {
	tb.Helper()
	timeout := time.NewTimer(callTimeout)
	defer timeout.Stop()
	for seen := 0; ; {
		l.mu.Lock()
		evs, more := l.events[seen:], l.more
		seen = len(l.events)
		l.mu.Unlock()
		for _, ev := range evs {
			if ev.Name == name && (match == nil || match(ev.Body)) {
				return ev
			}
		}
		select {
		case <-more:
		case <-timeout.C:
			tb.Fatalf("no %q event came in %v", name, callTimeout)
		}
	}
}

// count returns how many events named name were seen so far.
func (l *eventLog) count(name string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, ev := range l.events {
		if ev.Name == name {
			n++
		}
	}
	return n
}

// wantCode fails the test unless err is an *ipcmesh.Error with code.
func wantCode(tb testing.TB, err error, code ipcmesh.Code) *ipcmesh.Error {
	tb.Helper()
	var e *ipcmesh.Error
	if !errors.As(err, &e) || e.Code != code {
		tb.Fatalf("error = %v (%T, code %q), want an *ipcmesh.Error with code %q", err, err, ipcmesh.CodeOf(err), code)
	}
	return e
}

// wantMention fails the test unless msg mentions every one of words, which
// is how a test checks that an error tells the user what to do.
func wantMention(tb testing.TB, msg string, words ...string) {
	tb.Helper()
	for _, w := range words {
		if !strings.Contains(msg, w) {
			tb.Errorf("message %q does not mention %q", msg, w)
		}
	}
}

// rawConn is a connection that speaks frames by hand, for what Client
// would never send.
type rawConn struct {
	tb testing.TB
	nc net.Conn
	br *bufio.Reader
	id uint64
}

// rawDial opens a TCP connection without a handshake.
func (m *mesh) rawDial(tb testing.TB) *rawConn {
	tb.Helper()
	nc, err := net.Dial("tcp", m.Addr)
	if err != nil {
		tb.Fatalf("dial: %v", err)
	}
	tb.Cleanup(func() { nc.Close() })
	return &rawConn{tb: tb, nc: nc, br: bufio.NewReaderSize(nc, 64<<10), id: 2}
}

// rawAuthed opens a connection and runs the handshake by hand.
func (m *mesh) rawAuthed(tb testing.TB) *rawConn {
	tb.Helper()
	r := m.rawDial(tb)
	if err := r.handshake(m.Keys); err != nil {
		tb.Fatalf("handshake: %v", err)
	}
	return r
}

func (r *rawConn) handshake(keys auth.Keys) error {
	cn, _ := auth.NewNonce()
	hello, _ := json.Marshal(ipc.HelloRequest{Protocol: ipc.Protocol, Versions: ipc.Versions, Nonce: cn})
	if err := r.write(&ipc.Frame{ID: 1, Op: ipc.OpHello, Body: hello}); err != nil {
		return err
	}
	f, err := r.read()
	if err != nil {
		return err
	}
	if f.Error != nil {
		return f.Error
	}
	var hr ipc.HelloResponse
	if err := json.Unmarshal(f.Body, &hr); err != nil {
		return err
	}
	if !keys.VerifyProof(auth.RoleBroker, hr.Version, cn, hr.Nonce, hr.Proof) {
		return ipc.ErrBrokerProof
	}
	proof, _ := json.Marshal(ipc.AuthRequest{Proof: keys.Proof(auth.RoleClient, hr.Version, cn, hr.Nonce)})
	if err := r.write(&ipc.Frame{ID: 2, Op: ipc.OpAuth, Body: proof}); err != nil {
		return err
	}
	f, err = r.read()
	if err != nil {
		return err
	}
	if f.Error != nil {
		return f.Error
	}
	return nil
}

// hello sends a hello with the client nonce cn and returns the broker's
// answer, failing the test if there is none: the first half of a
// handshake made by hand.
func (r *rawConn) hello(cn []byte) ipc.HelloResponse {
	r.tb.Helper()
	body, _ := json.Marshal(ipc.HelloRequest{Protocol: ipc.Protocol, Versions: ipc.Versions, Nonce: cn})
	r.write(&ipc.Frame{ID: 1, Op: ipc.OpHello, Body: body})
	f, err := r.read()
	if err != nil || f.Error != nil {
		r.tb.Fatalf("hello answer: %v %+v", err, f)
	}
	var hr ipc.HelloResponse
	if err := json.Unmarshal(f.Body, &hr); err != nil {
		r.tb.Fatalf("hello answer %s: %v", f.Body, err)
	}
	return hr
}

func (r *rawConn) write(f *ipc.Frame) error {
	buf, err := ipc.AppendFrame(nil, f)
	if err != nil {
		r.tb.Fatalf("AppendFrame: %v", err)
	}
	_, err = r.nc.Write(buf)
	return err
}

// writePayload sends payload as one frame, whatever it holds.
func (r *rawConn) writePayload(payload []byte) error {
	buf := make([]byte, 4, 4+len(payload))
	buf[0], buf[1], buf[2], buf[3] = byte(len(payload)>>24), byte(len(payload)>>16), byte(len(payload)>>8), byte(len(payload))
	_, err := r.nc.Write(append(buf, payload...))
	return err
}

// read reads the next frame, giving up after callTimeout.
func (r *rawConn) read() (*ipc.Frame, error) {
	r.nc.SetReadDeadline(time.Now().Add(callTimeout))
	return ipc.ReadFrame(r.br, ipc.DefaultMaxFrame)
}

// reply reads frames until the answer to id, skipping pushed events.
func (r *rawConn) reply(id uint64) *ipc.Frame {
	r.tb.Helper()
	for {
		f, err := r.read()
		if err != nil {
			r.tb.Fatalf("waiting for the answer to request %d: %v", id, err)
		}
		if f.Event == "" && f.ID == id {
			return f
		}
	}
}

// call sends one request with the next id and returns its answer.
func (r *rawConn) call(op string, body any) *ipc.Frame {
	r.tb.Helper()
	r.id++
	raw, err := json.Marshal(body)
	if err != nil {
		r.tb.Fatal(err)
	}
	if err := r.write(&ipc.Frame{ID: r.id, Op: op, Body: raw}); err != nil {
		r.tb.Fatalf("write %s: %v", op, err)
	}
	return r.reply(r.id)
}

// wantClosed reads until the broker closes the connection and fails the
// test if it does not within callTimeout. It returns the frames it read.
func (r *rawConn) wantClosed() []*ipc.Frame {
	r.tb.Helper()
	var got []*ipc.Frame
	for {
		f, err := r.read()
		if err == nil {
			got = append(got, f)
			continue
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			r.tb.Fatalf("the broker did not close the connection within %v", callTimeout)
		}
		return got
	}
}
