package atomicfile

import (
	"errors"
	"testing"
	"time"
)

// errHeld stands for Windows' error for a file another process holds.
var errHeld = errors.New("the process cannot access the file because it is being used by another process")

func isHeld(err error) bool { return errors.Is(err, errHeld) }

// A file held by another process for a moment is tried again until it is
// free; any other error is returned at once; one held for good is given
// up on with the system's error.
func TestRetryWhileHeld(t *testing.T) {
	calls := 0
	err := retry(func() error {
		calls++
		if calls < 3 {
			return errHeld
		}
		return nil
	}, isHeld, time.Minute)
	if err != nil || calls != 3 {
		t.Errorf("held twice, then free: %v after %d tries, want success on the third", err, calls)
	}

	calls = 0
	other := errors.New("no such folder")
	if err := retry(func() error { calls++; return other }, isHeld, time.Minute); err != other || calls != 1 {
		t.Errorf("another error: %v after %d tries, want it at once", err, calls)
	}

	calls = 0
	if err := retry(func() error { calls++; return errHeld }, isHeld, -time.Second); !errors.Is(err, errHeld) || calls != 1 {
		t.Errorf("held for good: %v after %d tries, want the error", err, calls)
	}
}
