package atomicfile

import (
	"fmt"
	"io"
	"os"
	"time"
)

// busyFor bounds how long Write and ReadFile try again while another
// process holds the file. On Windows a file that is open cannot be
// replaced, nor opened while it is being replaced, unless every opener
// allowed it, and Go's own opens do not: a command reading a session
// token while another renews it, or a virus scanner looking at it, holds
// it for a moment. Elsewhere nothing is ever tried again.
const busyFor = 2 * time.Second

// retry runs op until it succeeds, fails for a reason busy does not
// accept, or has been failing for within; it returns op's last error.
func retry(op func() error, busy func(error) bool, within time.Duration) error {
	deadline := time.Now().Add(within)
	pause := time.Millisecond
	for {
		err := op()
		if err == nil || !busy(err) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(pause)
		pause = min(2*pause, 100*time.Millisecond)
	}
}

// rename is os.Rename, tried again while the target is busy.
func rename(from, to string) error {
	return retry(func() error { return os.Rename(from, to) }, busy, busyFor)
}

// MaxRead bounds what ReadFile reads. The files it reads are the records
// Write keeps in the data folder (tokens, broker.json, settings), a few
// hundred bytes each.
const MaxRead = 1 << 20

// ReadFile is os.ReadFile for a file Write wrote, tried again while the
// file is busy: being replaced by Write in another process, on Windows.
// A file that is not a regular file, once links are followed, or is
// larger than MaxRead is refused, with an error that names it and says to
// remove it: no file Write makes is either, and read whole, a link to
// /dev/zero in its place took every byte of memory there was, and a
// FIFO waited for ever, in every command that read it.
func ReadFile(path string) ([]byte, error) {
	var b []byte
	err := retry(func() (err error) {
		b, err = readRecord(path)
		return err
	}, busy, busyFor)
	return b, err
}

func readRecord(path string) ([]byte, error) {
	// Stat first: opening a FIFO for reading waits for a writer.
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file (%v) and not one ipcmesh wrote: remove it (ipcmesh writes it anew)", path, fi.Mode().Type())
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxRead+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxRead {
		return nil, fmt.Errorf("%s is over %d bytes, larger than any file ipcmesh writes there: remove it (ipcmesh writes it anew)", path, MaxRead)
	}
	return b, nil
}
