package ipc_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/ipc"
)

// impostorWord is in the seeds of FuzzDialAnswer: words a listener that
// has not proved it knows the secret says must never reach the caller.
const impostorWord = "IMPOSTOR"

// exchange is one connection to the fuzzed listener: what it answers to
// the hello, and what it heard after the hello.
type exchange struct {
	answer []byte
	heard  chan []byte
}

// FuzzDialAnswer answers a client's hello with arbitrary bytes, as a
// program that holds the mesh port without the secret may (garbage, a
// refusal, a real broker's answer recorded from another handshake): Dial
// must fail, at once, having sent nothing but its hello, and say nothing
// the listener said.
func FuzzDialAnswer(f *testing.F) {
	// Seeds: testdata/fuzz/FuzzDialAnswer.
	exchanges := make(chan exchange, 1)
	addr := fakeServer(f, func(nc net.Conn) {
		x := <-exchanges
		nc.SetDeadline(time.Now().Add(callTimeout))
		br := bufio.NewReader(nc)
		if _, err := ipc.ReadFrame(br, 64<<10); err == nil {
			nc.Write(x.answer)
		}
		// Then say no more: a client waiting for the rest of a frame
		// hears the end of the stream, not a deadline.
		nc.(*net.TCPConn).CloseWrite()
		rest, _ := io.ReadAll(br)
		x.heard <- rest
	})
	keys := newKeys(f)
	f.Fuzz(func(t *testing.T, answer []byte) {
		x := exchange{answer: answer, heard: make(chan []byte, 1)}
		exchanges <- x
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		defer cancel()
		c, err := ipc.Dial(ctx, addr, keys, ipc.DialOptions{HandshakeTimeout: callTimeout})
		if err == nil {
			c.Close()
			t.Fatalf("Dial accepted a listener that does not know the secret, which answered %q", answer)
		}
		switch {
		case errors.Is(err, ipc.ErrNotMesh), errors.Is(err, ipc.ErrBrokerProof), errors.Is(err, ipc.ErrConnLost):
		case ipcmesh.CodeOf(err) == ipcmesh.CodeUnsupported, ipcmesh.CodeOf(err) == ipcmesh.CodeRateLimited:
			var e *ipcmesh.Error
			if errors.As(err, &e) && e.RetryAfter() > 5*time.Second {
				t.Fatalf("an unproven listener made Dial ask a wait of %v", e.RetryAfter())
			}
		default:
			t.Fatalf("Dial: %v (%T), want a refusal of the listener", err, err)
		}
		if msg := err.Error(); strings.Contains(msg, impostorWord) || strings.Contains(msg, "\n") {
			t.Fatalf("the error repeats the listener's words: %q", msg)
		}
		if heard := <-x.heard; len(heard) > 0 {
			t.Fatalf("the client sent %q to the listener after its hello", heard)
		}
	})
}

// FuzzHello sends arbitrary bytes as a connection's first, and then ends
// the stream, as a client that does not know the secret may: the broker
// must never admit it (no answer but to the hello, never to auth), must
// close the connection, and must go on serving peers.
func FuzzHello(f *testing.F) {
	// Seeds: testdata/fuzz/FuzzHello.
	m := startMesh(f, func(o *meshOptions) {
		o.Config.Limits = ipc.Limits{
			HandshakesPerSecond: 1e9, HandshakeBurst: 1e9,
			OpsPerSecond: 1e9, OpsBurst: 1e9,
		}
	})
	p := m.join(f, "fuzz-peer")
	f.Fuzz(func(t *testing.T, data []byte) {
		r := m.rawDial(t)
		if _, err := r.nc.Write(data); err != nil {
			t.Fatalf("write: %v", err)
		}
		r.nc.(*net.TCPConn).CloseWrite()
		for _, fr := range r.wantClosed() {
			if fr.Error != nil {
				if fr.Error.Code == "" || fr.Error.Message == "" || fr.Error.Code == ipcmesh.CodeInternal {
					t.Fatalf("the broker answered %+v", fr.Error)
				}
				continue
			}
			var hr ipc.HelloResponse
			if json.Unmarshal(fr.Body, &hr) != nil || hr.Protocol != ipc.Protocol || len(hr.Proof) == 0 {
				t.Fatalf("the broker admitted a client that does not know the secret: it answered %s to %q", fr.Body, data)
			}
		}
		p.must(t, ipc.OpStatus, nil, nil)
	})
}
