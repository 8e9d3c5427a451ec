package bufpipe

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"testing"
	"time"

	"golang.org/x/net/nettest"
)

// The conformance suite that net.Pipe and the net package's own
// connections pass: reads and writes, racing ones, every kind of
// deadline, and Close under way. (Its echo writes 13 bytes while the
// other side writes them back: a buffer smaller than that would deadlock
// it, as a socket's would.)
func TestConn(t *testing.T) {
	for _, size := range []int{512, 64 << 10} {
		t.Run(strconv.Itoa(size), func(t *testing.T) {
			nettest.TestConn(t, func() (net.Conn, net.Conn, func(), error) {
				a, b := Pipe(size)
				return a, b, func() { a.Close(); b.Close() }, nil
			})
		})
	}
}

// A write larger than the buffer goes through in pieces as the reader
// reads, whole and in order.
func TestLargeWrite(t *testing.T) {
	a, b := Pipe(1000)
	defer a.Close()
	defer b.Close()
	want := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB
	errc := make(chan error, 1)
	go func() {
		_, err := a.Write(want)
		errc <- err
	}()
	got := make([]byte, len(want))
	if _, err := io.ReadFull(b, got); err != nil {
		t.Fatalf("read: %v", err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("write: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("the bytes read differ from those written")
	}
}

// A writer whose reader has stopped reading blocks once the buffer is
// full, and its write deadline ends the wait, as with a socket: an end
// cannot make the other hold more than the bound.
func TestFullBufferBlocks(t *testing.T) {
	a, b := Pipe(100)
	defer a.Close()
	defer b.Close()
	a.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
	n, err := a.Write(make([]byte, 250))
	if n != 100 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a write of 250 bytes into a buffer of 100 nobody reads: %d, %v; want 100, a deadline error", n, err)
	}
}

// What an end wrote before it closed is read by the other, then io.EOF;
// the other's writes fail, and so does everything on the closed end.
func TestClose(t *testing.T) {
	a, b := Pipe(1 << 10)
	if _, err := a.Write([]byte("last words")); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(b)
	if string(got) != "last words" || err != nil {
		t.Errorf("reading after the other end closed: %q, %v; want the last words, then EOF", got, err)
	}
	if _, err := b.Write([]byte("anyone?")); !errors.Is(err, io.ErrClosedPipe) {
		t.Errorf("writing to an end that closed: %v, want io.ErrClosedPipe", err)
	}
	if _, err := a.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("reading a closed end: %v, want net.ErrClosed", err)
	}
	if _, err := a.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Errorf("writing a closed end: %v, want net.ErrClosed", err)
	}
	if err := a.Close(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("closing twice: %v, want net.ErrClosed", err)
	}
	b.Close()
}

// Once a large message has been read, the emptied buffer lets its array
// go: an idle connection does not keep the room one message needed.
func TestEmptiedBufferShrinks(t *testing.T) {
	a, b := Pipe(1 << 20)
	defer a.Close()
	defer b.Close()
	big := make([]byte, 512<<10)
	if _, err := a.Write(big); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(b, big); err != nil {
		t.Fatal(err)
	}
	out := a.(*end).out
	out.mu.Lock()
	defer out.mu.Unlock()
	if c := cap(out.buf); c > keepBuffer {
		t.Errorf("the emptied buffer keeps %d bytes of room, want at most %d", c, keepBuffer)
	}
}

// A deadline moved again and again, as a writer moves it before every
// write, ends a read at the last time it was given, whether that is sooner
// or later than before.
func TestMovedDeadline(t *testing.T) {
	a, b := Pipe(64)
	defer a.Close()
	defer b.Close()
	buf := make([]byte, 8)
	a.SetReadDeadline(time.Now().Add(time.Hour))
	a.SetReadDeadline(time.Now().Add(time.Hour))
	a.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
	if _, err := a.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past a deadline moved sooner: %v, want os.ErrDeadlineExceeded", err)
	}
	a.SetReadDeadline(time.Now().Add(time.Hour))
	a.SetReadDeadline(time.Now().Add(2 * time.Hour))
	if _, err := b.Write([]byte("hi")); err != nil {
		t.Fatal(err)
	}
	if n, err := a.Read(buf); err != nil || string(buf[:n]) != "hi" {
		t.Fatalf("read with the deadline moved later again: %q, %v", buf[:n], err)
	}
	a.SetReadDeadline(time.Now().Add(time.Hour))
	a.SetReadDeadline(time.Unix(1, 0))
	if _, err := a.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read with the deadline moved into the past: %v, want os.ErrDeadlineExceeded", err)
	}
}

// What a writer pays to move its deadline before each write.
func BenchmarkSetWriteDeadline(b *testing.B) {
	a, c := Pipe(64)
	defer a.Close()
	defer c.Close()
	for b.Loop() {
		a.SetWriteDeadline(time.Now().Add(10 * time.Second))
	}
}
