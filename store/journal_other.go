//go:build !linux

package store

import (
	"errors"
	"fmt"
	"os"
	"time"
)

const journalOn = false

// errJournalHere is wrapped when a data folder holds a journal that this
// build cannot replay.
var errJournalHere = errors.New("the data folder holds a send journal to replay")

func datasync(f *os.File) error { return f.Sync() }

// thisBoot is unknown here, where no journal is kept.
func thisBoot() string { return "" }

func lockDB(string, time.Duration) (*os.File, error) {
	return nil, fmt.Errorf("%w: only Linux builds of ipcmesh replay it; open the data folder once with one", errJournalHere)
}

func restoreCheckpoint(*os.File, checkpoint) error { return errJournalHere }
