package gateway

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/testbin"
	"github.com/ipcmesh/ipcmesh/ipc"
)

// TestEndedStreamLetsGoOfItsWrite: an event stream whose client stopped
// reading falls behind and is ended, but its handler went on waiting in
// the write its client did not take, until the write's deadline (30 s):
// the stream, its connection, the name's use and a place among the key's
// 64 stayed, and a face told to stop waited for it until its shutdown
// gave up, 10 s on. The same held for a stream ended by the revocation of
// its key. Once a stream has ended, its write is cut.
func TestEndedStreamLetsGoOfItsWrite(t *testing.T) {
	f := newFaceLimited(t, ipc.Limits{OpsPerSecond: 1e9, OpsBurst: 1 << 30}, nil)
	f.srv.streamWrite = time.Minute // longer than the test waits
	key := f.key("alice")
	bob := f.peer("bob")

	br := slowGet(t, f, "/api/v1/events", key)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("read the stream's opening: %v", err)
		}
		if strings.HasPrefix(line, "event: ready") {
			break
		}
	}
	// From here on nothing is read: the messages fill the connection's
	// buffers until a write blocks, and then the stream's own, until it
	// is ended for falling behind.
	sess := f.session("alice")
	var stream *use
	f.srv.sessions.mu.Lock()
	for u := range sess.uses {
		if u.events != nil {
			stream = u
		}
	}
	f.srv.sessions.mu.Unlock()
	if stream == nil {
		t.Fatal("the face has no event stream of alice")
	}
	body := strings.Repeat("x", 9000)
	giveUp := time.Now().Add(30 * time.Second)
	for stream.ctx.Err() == nil {
		if time.Now().After(giveUp) {
			t.Fatal("30 s after its client stopped reading, the stream was not ended for falling behind")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		_, err := bob.Send(ctx, "alice", body)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
	}
	testbin.Eventually(t, 10*time.Second, "the ended stream to let go of its write and of alice's use", func() bool {
		f.srv.sessions.mu.Lock()
		defer f.srv.sessions.mu.Unlock()
		return !sess.uses[stream]
	})
}
