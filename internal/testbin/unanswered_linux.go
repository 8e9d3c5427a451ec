package testbin

import (
	"errors"
	"net"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// Unanswered returns an address on 127.0.0.1 whose connections get no
// answer, until the test ends: as a host that is down, or a firewall
// that drops them, seen from the client. It is a socket that listens
// and never accepts, with its queue of connections filled: Linux then
// drops each new connection's SYN, and the client's connect waits.
func Unanswered(tb testing.TB) string {
	tb.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		tb.Fatalf("bind 127.0.0.1: %v", err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		tb.Fatalf("listen: %v", err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		tb.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*syscall.SockaddrInet4).Port))
	// A backlog of 0 still queues a connection or two; the first dial
	// that times out finds the queue full.
	for range 16 {
		c, err := net.DialTimeout("tcp", addr, 250*time.Millisecond)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return addr
		}
		if err != nil {
			tb.Fatalf("fill the queue of %s: %v", addr, err)
		}
		tb.Cleanup(func() { c.Close() })
	}
	tb.Fatalf("%s took 16 connections without accepting one: its queue is not filled", addr)
	return ""
}
