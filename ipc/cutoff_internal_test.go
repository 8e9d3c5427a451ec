package ipc

import (
	"log/slog"
	"net"
	"strings"
	"testing"

	"github.com/ipcmesh/ipcmesh/internal/testbin"
	"github.com/ipcmesh/ipcmesh/store"
)

// TestStuckClientIsCutOffOnce: a client that stops reading is cut off
// when its queue of answers is full, and that is logged once. Every
// request it still had in flight (up to 64) used to log the same warning
// again as its answer found the queue full, dozens of lines for one
// client in a burst.
func TestStuckClientIsCutOffOnce(t *testing.T) {
	st, err := store.Open(store.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var logged testbin.Buffer
	b := NewBroker(Config{Store: st, Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	server, client := net.Pipe()
	defer client.Close()
	c := newConn(b, server, 1)
	for range outQueue {
		if c.send(&Frame{ID: 1}) == 0 {
			t.Fatal("a frame was refused before the queue was full")
		}
	}
	for i := range 64 {
		if c.send(&Frame{ID: uint64(2 + i)}) != 0 {
			t.Fatal("a frame was queued past the full queue")
		}
	}
	if n := strings.Count(logged.String(), "client is not reading"); n != 1 {
		t.Errorf("the client was reported as not reading %d times, want once:\n%s", n, logged.String())
	}
	if _, err := client.Write([]byte{0}); err == nil {
		t.Error("the connection of the client that does not read is still open")
	}
}
