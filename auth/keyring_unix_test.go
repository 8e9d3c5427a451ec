//go:build unix

package auth

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A token file that is a link to something no token is kept in, planted
// in the sessions folder, is refused at once with an error that names it
// and says to remove it. Load read it whole: through a link to a FIFO it
// waited for ever, and through one to /dev/zero it took every byte of
// memory there was (24 GB, in every command acting as the name).
func TestLoadRefusesATokenFileThatIsNoRecord(t *testing.T) {
	dir := t.TempDir()
	k := Keyring{Dir: dir}
	sessions := filepath.Join(dir, "sessions")
	if err := os.MkdirAll(sessions, 0o700); err != nil {
		t.Fatal(err)
	}
	elsewhere := t.TempDir()
	fifo := filepath.Join(elsewhere, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("no FIFO here: %v", err)
	}
	// A reader stuck in the FIFO's open gets EOF once a writer comes and
	// goes, so that the test ends even where Load would wait.
	t.Cleanup(func() {
		if f, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
	})
	big := filepath.Join(elsewhere, "big")
	if err := os.WriteFile(big, bytes.Repeat([]byte("v1."), 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]string{"bob": fifo, "carol": big} {
		if err := os.Symlink(target, filepath.Join(sessions, name+".token")); err != nil {
			t.Fatal(err)
		}
	}

	for name, want := range map[string]string{"bob": "not a regular file", "carol": "over 1048576 bytes"} {
		done := make(chan error, 1)
		go func() {
			_, err := k.Load(name)
			done <- err
		}()
		var err error
		select {
		case err = <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("Load(%s) is still reading its token file after 10 s", name)
		}
		if err == nil || errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("Load(%s) = %v; want an error that is not 'no token'", name, err)
		}
		for _, w := range []string{filepath.Join(sessions, name+".token"), want, "remove it"} {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("Load(%s) error %q does not mention %q", name, err, w)
			}
		}
	}
}
