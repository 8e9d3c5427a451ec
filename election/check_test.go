package election

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/ipc"
)

// The broker holds one check for at most ipc.MaxWait; CheckMail asks
// again, a piece at a time, until its own wait is up. These tests give
// the pieces a short cap instead of waitPiece, and watch the checks the
// peer writes to its connection.

// A check's wait goes on after pieces that came back empty: mail sent
// once three have is returned.
func TestCheckWaitGoesOnAfterAnEmptyPiece(t *testing.T) {
	m := newMesh(t)
	alice := m.join("alice")
	ctx := ctxT(t)
	const piece = 50 * time.Millisecond
	var rec pieces
	bob := m.joinWith("bob", watchChecks(m, func(req *ipc.CheckRequest) {
		if rec.add(req) == 4 {
			// Three pieces came back empty; the fourth reaches the
			// broker once the mail is stored.
			if _, err := alice.Send(ctx, "bob", "late news"); err != nil {
				t.Error(err)
			}
		}
	}))
	bob.piece = piece
	r, err := bob.CheckMail(ctx, ipc.CheckRequest{WaitMS: time.Hour.Milliseconds()})
	if err != nil {
		t.Fatal(err)
	}
	asked := rec.get()
	if len(r.Messages) != 1 || r.Messages[0].Content != "late news" {
		t.Fatalf("a check waiting an hour got %+v after %d pieces; want the message sent after the third", r.Messages, len(asked))
	}
	if len(asked) != 4 {
		t.Errorf("asked the broker %d times (%v); want 4: three empty pieces and the one that got the mail", len(asked), asked)
	}
	for _, w := range asked {
		if w > piece {
			t.Errorf("asked the broker to wait %v, over the cap of %v (%v)", w, piece, asked)
		}
	}
}

// With no mail, a check answers that there is none only once the wait it
// was given is up, not when the first piece ends, and no piece asks for
// more than is left of the wait.
func TestCheckWaitLastsTheWholeWait(t *testing.T) {
	m := newMesh(t)
	m.join("") // hosts the broker
	const piece, wait = 50 * time.Millisecond, 180 * time.Millisecond
	var rec pieces
	// As far as the peer can tell, each piece lasts just what it asks
	// for: on a busy machine the first alone could outlast the whole
	// wait, which would then be asked for in one piece.
	var clock pieceClock
	bob := m.joinWith("bob", watchChecks(m, func(req *ipc.CheckRequest) {
		rec.add(req)
		clock.advance(time.Duration(req.WaitMS) * time.Millisecond)
	}))
	bob.piece = piece
	bob.now = clock.now
	start := time.Now()
	r, err := bob.Check(ctxT(t), 10, wait)
	took := time.Since(start)
	asked := rec.get()
	if err != nil || len(r.Messages) != 0 {
		t.Fatalf("check waiting %v: %+v, %v; want no messages", wait, r.Messages, err)
	}
	if took < wait-time.Millisecond {
		t.Errorf("check waiting %v answered after %v, asking %v; want it to wait the whole %v", wait, took, asked, wait)
	}
	for _, w := range asked {
		if w > piece {
			t.Errorf("asked the broker to wait %v, over the cap of %v (%v)", w, piece, asked)
		}
	}
	// By the peer's clock each piece takes what it asks for, so pieces
	// that ask for what is left of the wait, up to the cap, sum to it.
	var sum time.Duration
	for _, w := range asked {
		sum += w
	}
	if len(asked) != 4 || sum != wait {
		t.Errorf("asked the broker %v; want three pieces of %v and a last one for what was left of %v", asked, piece, wait)
	}
}

// pieceClock is the time a peer reads while it asks for a wait in pieces:
// it moves on only by what each piece asks for.
type pieceClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *pieceClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *pieceClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// pieces records the waits a peer asks the broker for; the peer's
// connection writes them while the test reads them.
type pieces struct {
	mu    sync.Mutex
	waits []time.Duration
}

// add records req's wait and returns how many are recorded.
func (p *pieces) add(req *ipc.CheckRequest) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.waits = append(p.waits, time.Duration(req.WaitMS)*time.Millisecond)
	return len(p.waits)
}

func (p *pieces) get() []time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.waits
}

// watchChecks makes a peer dial m's broker through editChecks.
func watchChecks(m *mesh, edit func(*ipc.CheckRequest)) func(*Config) {
	return func(c *Config) {
		c.Dial = m.dialThrough(func(nc net.Conn) net.Conn { return editChecks(nc, edit) })
	}
}

// dialThrough dials m's broker and hands the connection to wrap, which
// returns what the peer reads and writes in its place.
func (m *mesh) dialThrough(wrap func(net.Conn) net.Conn) func(context.Context) (net.Conn, error) {
	return func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		nc, err := d.DialContext(ctx, "tcp", m.addr)
		if err != nil {
			return nil, err
		}
		return wrap(nc), nil
	}
}

// editChecks wraps a connection to a broker: every check request written
// to it is passed to edit, which may change it, before the broker reads
// it.
func editChecks(nc net.Conn, edit func(*ipc.CheckRequest)) net.Conn {
	return &frameWire{Conn: nc, edit: func(frame []byte) ([]byte, error) {
		f, err := ipc.DecodeFrame(frame[4:])
		if err != nil || f.Op != ipc.OpCheck {
			return frame, nil
		}
		var req ipc.CheckRequest
		if err := json.Unmarshal(f.Body, &req); err != nil {
			return nil, err
		}
		edit(&req)
		if f.Body, err = json.Marshal(req); err != nil {
			return nil, err
		}
		var b bytes.Buffer
		if err := ipc.WriteFrame(&b, f); err != nil {
			return nil, err
		}
		return b.Bytes(), nil
	}}
}

// frameWire is a connection to a broker that hands each frame written to
// it, once written whole, to edit, and writes what edit returns in its
// place: nothing swallows the frame, and the broker never reads it.
type frameWire struct {
	net.Conn
	edit func(frame []byte) ([]byte, error)
	mu   sync.Mutex
	buf  []byte // the start of a frame not yet written whole
}

func (c *frameWire) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buf = append(c.buf, p...)
	for len(c.buf) >= 4 {
		n := 4 + int(binary.BigEndian.Uint32(c.buf))
		if len(c.buf) < n {
			break
		}
		frame, err := c.edit(c.buf[:n])
		if err != nil {
			return 0, err
		}
		if len(frame) > 0 {
			if _, err := c.Conn.Write(frame); err != nil {
				return 0, err
			}
		}
		c.buf = c.buf[n:]
	}
	return len(p), nil
}
