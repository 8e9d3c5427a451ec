package ipc_test

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"

	"github.com/ipcmesh/ipcmesh/ipc"
	"github.com/ipcmesh/ipcmesh/store"
)

// breakingListener accepts one connection, then fails as a listener that
// will never accept again does.
type breakingListener struct {
	net.Listener
	once sync.Once
}

var errBroken = errors.New("the listener broke")

func (l *breakingListener) Accept() (net.Conn, error) {
	var nc net.Conn
	err := errBroken
	l.once.Do(func() { nc, err = l.Listener.Accept() })
	return nc, err
}

// A listener that fails for good is closed, so that the port is free for a
// peer to take over; the broker goes on serving the connections it has.
func TestAcceptFailureFreesThePort(t *testing.T) {
	st, err := store.Open(store.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	keys := newKeys(t)
	b := ipc.NewBroker(ipc.Config{Store: st, Keys: keys, Addr: ln.Addr().String()})
	defer b.Close()
	served := make(chan error, 1)
	go func() { served <- b.Serve(&breakingListener{Listener: ln}) }()

	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	c, err := ipc.Dial(ctx, ln.Addr().String(), keys, ipc.DialOptions{})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.Close()
	if err := <-served; !errors.Is(err, errBroken) {
		t.Fatalf("Serve returned %v, want the listener's error", err)
	}
	again, err := net.Listen("tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("the port is still held after the broker stopped accepting: %v", err)
	}
	again.Close()
	if err := c.Call(ctx, ipc.OpStatus, nil, nil); err != nil {
		t.Fatalf("status on the connection the broker had: %v", err)
	}
}
