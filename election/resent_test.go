package election

import (
	"encoding/binary"
	"encoding/json"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ipcmesh/ipcmesh/ipc"
)

// A send whose broker stored it and was lost before its answer went out
// is sent again, with its id, to the next broker, which finds the id
// stored: it answered duplicate, and the sender, who sent once, was told
// that id had been sent before and nothing new went now (in a failover
// soak, 37 of 7,889 sends that crossed a kill -9). The message stored is
// the one the call sent: the answer says it was sent. An id used before
// for another text still answers duplicate.
func TestResentSendIsNotADuplicate(t *testing.T) {
	m := newMesh(t)
	alice := m.join("alice") // hosts the broker
	wire := &answerCutter{}
	bob := m.joinWith("bob", func(c *Config) {
		c.Dial = m.dialThrough(wire.wrap)
	})
	ctx := ctxT(t)

	wire.arm()
	r, err := bob.Send(ctx, "alice", "sent once")
	if err != nil {
		t.Fatal(err)
	}
	if !wire.cut.Load() {
		t.Fatal("the answer of the send was not cut: the test tests nothing")
	}
	if r.Duplicate {
		t.Errorf("a send whose first answer was lost with its connection is told duplicate: %+v", r)
	}
	raw, err := func() (json.RawMessage, error) {
		wire.arm()
		return bob.SendMessageJSON(ctx, ipc.SendRequest{Outgoing: ipc.Outgoing{To: "alice", Content: "sent once, as JSON"}})
	}()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "duplicate") || !strings.Contains(string(raw), "sent once, as JSON") {
		t.Errorf("the JSON answer of a send sent again: %s; want the message and no duplicate", raw)
	}

	first, err := bob.SendMessage(ctx, ipc.SendRequest{ID: "reused-id-1", Outgoing: ipc.Outgoing{To: "alice", Content: "the first text"}})
	if err != nil || first.Duplicate {
		t.Fatalf("first send of reused-id-1: %+v, %v", first, err)
	}
	wire.arm()
	again, err := bob.SendMessage(ctx, ipc.SendRequest{ID: "reused-id-1", Outgoing: ipc.Outgoing{To: "alice", Content: "another text"}})
	if err != nil {
		t.Fatal(err)
	}
	if !again.Duplicate || again.Message.Content != "the first text" {
		t.Errorf("an id used before for another text, sent again after a lost answer: %+v; want duplicate, with the first text", again)
	}

	if got := unreadTexts(t, alice); got != "sent once|sent once, as JSON|the first text" {
		t.Errorf("alice's inbox holds %q; want each text once", got)
	}
}

// unreadTexts is the text of p's unread messages, oldest first, joined
// with "|".
func unreadTexts(t *testing.T, p *Peer) string {
	t.Helper()
	got, err := p.Check(ctxT(t), 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, msg := range got.Messages {
		texts = append(texts, msg.Content)
	}
	return strings.Join(texts, "|")
}

// A broadcast stored by a broker lost before it answered is sent again
// in the same way, and its answer listed every recipient as duplicate.
// Its copies hold the text the call sent: the answer lists none.
func TestResentBroadcastIsNotADuplicate(t *testing.T) {
	m := newMesh(t)
	alice := m.join("alice") // hosts the broker
	carol := m.join("carol")
	wire := &answerCutter{}
	bob := m.joinWith("bob", func(c *Config) {
		c.Dial = m.dialThrough(wire.wrap)
	})
	ctx := ctxT(t)

	wire.arm()
	r, err := bob.Broadcast(ctx, "broadcast once")
	if err != nil {
		t.Fatal(err)
	}
	if !wire.cut.Load() {
		t.Fatal("the answer of the broadcast was not cut: the test tests nothing")
	}
	if len(r.Duplicate) > 0 || strings.Join(r.Recipients, ",") != "alice,carol" {
		t.Errorf("a broadcast whose first answer was lost with its connection: %+v; want alice and carol, no duplicate", r)
	}

	first, err := bob.BroadcastMessage(ctx, ipc.BroadcastRequest{ID: "reused-id-2", Content: "the first text"})
	if err != nil || len(first.Duplicate) > 0 {
		t.Fatalf("first broadcast of reused-id-2: %+v, %v", first, err)
	}
	wire.arm()
	again, err := bob.BroadcastMessage(ctx, ipc.BroadcastRequest{ID: "reused-id-2", Content: "another text"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(again.Duplicate, ",") != "alice,carol" {
		t.Errorf("an id used before for another text, broadcast again after a lost answer: %+v; want alice and carol duplicate", again)
	}

	for _, p := range []*Peer{alice, carol} {
		if got := unreadTexts(t, p); got != "broadcast once|the first text" {
			t.Errorf("%s's inbox holds %q; want each text once", p.Name(), got)
		}
	}
}

// answerCutter makes the connections it wraps, once armed, let the next
// send or broadcast request through to the broker and lose the connection when its
// answer comes, before the peer reads it: as a broker killed between
// storing a message and answering.
type answerCutter struct {
	armed atomic.Bool
	cut   atomic.Bool
}

func (w *answerCutter) arm() {
	w.cut.Store(false)
	w.armed.Store(true)
}

func (w *answerCutter) wrap(nc net.Conn) net.Conn {
	c := &cutConn{w: w}
	c.frameWire = frameWire{Conn: nc, edit: func(frame []byte) ([]byte, error) {
		f, err := ipc.DecodeFrame(frame[4:])
		if err == nil && (f.Op == ipc.OpSend || f.Op == ipc.OpBroadcast) && w.armed.CompareAndSwap(true, false) {
			c.mu.Lock()
			c.send = f.ID
			c.mu.Unlock()
		}
		return frame, nil
	}}
	return c
}

// cutConn is a connection of an answerCutter. It reads the frames that
// come whole, to find the answer it cuts.
type cutConn struct {
	frameWire
	w    *answerCutter
	mu   sync.Mutex
	send uint64 // the id of the send frame whose answer is cut; 0 for none
	in   []byte // what was read of a frame not yet come whole
}

func (c *cutConn) Read(p []byte) (int, error) {
	n, err := c.frameWire.Conn.Read(p)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.in = append(c.in, p[:n]...)
	for len(c.in) >= 4 {
		size := 4 + int(binary.BigEndian.Uint32(c.in))
		if len(c.in) < size {
			break
		}
		f, ferr := ipc.DecodeFrame(c.in[4:size])
		c.in = c.in[size:]
		if ferr == nil && c.send != 0 && f.ID == c.send && f.Op == "" {
			c.send = 0
			c.w.cut.Store(true)
			c.frameWire.Conn.Close()
			return 0, io.ErrUnexpectedEOF
		}
	}
	return n, err
}
