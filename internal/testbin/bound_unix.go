//go:build unix

package testbin

import (
	"net"
	"syscall"
	"testing"
)

// BoundNotListening binds addr (127.0.0.1:PORT) with a socket that never
// listens, until the test ends: connections to it are refused, and no
// one else can bind it. A program that bound a port for later, or one
// whose listener is gone while its socket stays, holds a port so.
func BoundNotListening(tb testing.TB, addr string) {
	tb.Helper()
	ap, err := net.ResolveTCPAddr("tcp4", addr)
	if err != nil {
		tb.Fatal(err)
	}
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { syscall.Close(fd) })
	sa := &syscall.SockaddrInet4{Port: ap.Port}
	copy(sa.Addr[:], ap.IP.To4())
	if err := syscall.Bind(fd, sa); err != nil {
		tb.Fatalf("bind %s: %v", addr, err)
	}
}
