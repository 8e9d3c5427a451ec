package cli

import (
	"context"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

// interruptSignals end a command early: Ctrl-C, and the polite kill of a
// supervisor or of timeout(1).
var interruptSignals = []os.Signal{os.Interrupt, syscall.SIGTERM}

// untilInterrupted are the commands that run until they are interrupted,
// for which an interrupt is the usual end, not an abort: they exit 0.
var untilInterrupted = map[string]bool{
	"watch": true, "broker": true, "serve": true, "cluster": true, "mcp": true, "hook": true,
}

// notifyInterrupt returns a context that ends when an interrupt signal
// arrives, a func that stops listening for them, and one that says which
// signal arrived, nil if none did.
func notifyInterrupt() (ctx context.Context, stop func(), caught func() os.Signal) {
	ctx, cancel := context.WithCancel(context.Background())
	c := make(chan os.Signal, 1)
	for _, sig := range interruptSignals {
		// A SIGINT ignored from the start stays ignored: a shell starts
		// a script's background jobs ignoring it, so that Ctrl-C stops
		// the script and leaves them be. Notify would take it up again.
		// (SIGTERM is never ignored so: the Go runtime handles it
		// whatever the process inherited, and Ignored says false.)
		if !signal.Ignored(sig) {
			signal.Notify(c, sig)
		}
	}
	var (
		mu  sync.Mutex
		sig os.Signal
	)
	done := make(chan struct{})
	go func() {
		select {
		case s := <-c:
			mu.Lock()
			sig = s
			mu.Unlock()
			cancel()
		case <-done:
		}
	}()
	stop = func() {
		signal.Stop(c)
		close(done)
		cancel()
	}
	caught = func() os.Signal {
		mu.Lock()
		defer mu.Unlock()
		return sig
	}
	return ctx, stop, caught
}

// dieOf ends the process as sig would have, once the command has cleaned
// up after it. A shell tells a command killed by Ctrl-C from one that
// exited: bash ends a script whose command died of SIGINT, and carries on
// with one whose command exited 0, taking the interrupt for handled, so a
// loop around `ipc_check --wait` could not be stopped with Ctrl-C. Where
// the signal cannot be raised again (Windows, or a SIGINT the process was
// started ignoring), the exit status is 128 plus the signal's number, as a
// shell reports a command killed by it.
func dieOf(sig os.Signal) int {
	signal.Reset(sig)
	if raise(sig) {
		// The signal is on its way to a thread of this process; it ends
		// the process there, unless it is ignored.
		time.Sleep(time.Second)
	}
	if s, ok := sig.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return 130
}
