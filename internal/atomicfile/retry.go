package atomicfile

import (
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

// ReadFile is os.ReadFile, tried again while the file is busy: being
// replaced by Write in another process, on Windows.
func ReadFile(path string) ([]byte, error) {
	var b []byte
	err := retry(func() (err error) {
		b, err = os.ReadFile(path)
		return err
	}, busy, busyFor)
	return b, err
}
