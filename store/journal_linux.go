package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	bolterrors "go.etcd.io/bbolt/errors"
)

// journalOn: the send journal is kept on Linux, where its recovery is
// tested. Elsewhere every commit is synced by bbolt (two syncs an ack).
const journalOn = true

func datasync(f *os.File) error { return syscall.Fdatasync(int(f.Fd())) }

// thisBoot names the machine's current boot, "" if it cannot be read. A
// file written in this boot lost no page that was written to it: only a
// power loss or a crash of the machine loses those, and either begins
// another boot. It is read once, when a journal first needs it.
var thisBoot = sync.OnceValue(func() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
})

// lockDB opens the database file and takes the lock bbolt takes, waiting
// up to timeout, so that the file can be repaired before bbolt reads it;
// bbolt then opens the same descriptor, whose lock it already holds.
func lockDB(path string, timeout time.Duration) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(timeout)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) || time.Now().After(deadline) {
			f.Close()
			if errors.Is(err, syscall.EWOULDBLOCK) {
				err = bolterrors.ErrTimeout
			}
			return nil, err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// restoreCheckpoint writes the checkpoint's meta page over both meta pages
// of the locked database file f, and syncs it: whatever the commits after
// the checkpoint left on disk, bbolt then opens the checkpoint, whose
// pages the committer kept from reuse.
func restoreCheckpoint(f *os.File, ck checkpoint) error {
	size := len(ck.page)
	if txid, ok := metaTxidOf(ck.page); !ok || txid != ck.txid {
		return fmt.Errorf("the send journal's copy of meta page %d is not a meta page", ck.txid)
	}
	// A file whose two meta pages are whole and both older than the
	// checkpoint is not the one the journal was written for.
	newest, whole := newestCommit(f, size)
	if whole == 2 && newest < ck.txid {
		return fmt.Errorf("the send journal follows commit %d but the database's last commit is %d: the database file was replaced while a journal was pending; move %s out of the data folder to open the database as it is (the journal's sends are then lost)", ck.txid, newest, journalFile)
	}
	for slot := range 2 {
		page := append([]byte(nil), ck.page...)
		binary.NativeEndian.PutUint64(page, uint64(slot))
		if _, err := f.WriteAt(page, int64(slot*size)); err != nil {
			return fmt.Errorf("write meta page %d: %w", slot, err)
		}
	}
	if err := datasync(f); err != nil {
		return fmt.Errorf("sync meta pages: %w", err)
	}
	return nil
}
