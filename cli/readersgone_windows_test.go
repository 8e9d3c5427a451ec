//go:build windows

package cli

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestReadersGoneSeesAPipeClosed: a pipe whose reader closes it is seen
// gone, as an assistant's exit closes the pipes of its hooks' output.
// Windows says nothing of it by itself: before the pipes were asked, no
// pipe was watched, and a waiting hook held its name up to its --timeout.
func TestReadersGoneSeesAPipeClosed(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	gone, stop := readersGone(w)
	defer stop()
	if gone == nil {
		t.Fatal("a pipe is not watched")
	}
	select {
	case <-gone:
		t.Fatal("gone while its reader still has it open")
	default:
	}
	r.Close()
	select {
	case <-gone:
	case <-time.After(10 * time.Second):
		t.Fatal("the pipe's reader closed it, and it was not seen gone")
	}
}

// TestReadersGoneWatchesOnlyPipes: a file has no reader to lose.
func TestReadersGoneWatchesOnlyPipes(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gone, stop := readersGone(f)
	defer stop()
	if gone != nil {
		t.Error("a file is watched as if it were a pipe")
	}
	stop() // twice, as a deferred stop after an early one
}
