package store

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// BenchmarkCommitSyncs prices the syncs behind one acked send on the file
// system of the temporary folder (set TMPDIR to a folder on the data
// folder's file system to measure that one). Each op stores one 200-byte
// value, as a lone sender's commit does:
//
//   - bbolt: the commit the store makes today, data pages, fdatasync, meta
//     page, fdatasync;
//   - bbolt-nosync: the same commit with no sync, the floor of CPU and page
//     cache work;
//   - bbolt-nosync+fdatasync: that commit and one fdatasync of the file,
//     which is one sync but lets a power loss write the meta page without
//     the pages it points at, so the store does not do it;
//   - bbolt-nosync+record: that commit and a record of the same write
//     appended to a separate preallocated file and fdatasynced, the cost of
//     a journal that makes an ack one sync (see docs/SECURITY.md);
//   - record: the record and its fdatasync alone;
//   - record-appended: the same at the end of a file that grows with
//     each record, as the journal of a new data folder did before it
//     was given its size up front (journal.preallocate);
//   - record-after-idle: the same, the process asleep for 200 µs before
//     each (not timed), as a broker is between the sends of a lone
//     sender. On a VM the sync then costs more: the CPU went idle.
func BenchmarkCommitSyncs(b *testing.B) {
	val := make([]byte, 200)
	for _, bc := range []struct {
		name           string
		noSync, record bool
		syncDB, grow   bool
		idle           time.Duration
	}{
		{name: "bbolt"},
		{name: "bbolt-nosync", noSync: true},
		{name: "bbolt-nosync+fdatasync", noSync: true, syncDB: true},
		{name: "bbolt-nosync+record", noSync: true, record: true},
		{name: "record", record: true},
		{name: "record-appended", record: true, grow: true},
		{name: "record-after-idle", record: true, idle: 200 * time.Microsecond},
	} {
		b.Run(bc.name, func(b *testing.B) {
			dir := b.TempDir()
			var db *bolt.DB
			if bc.noSync || !bc.record {
				var err error
				db, err = bolt.Open(filepath.Join(dir, dbFile), 0o600, &bolt.Options{NoFreelistSync: true, FreelistType: bolt.FreelistMapType, NoSync: bc.noSync})
				if err != nil {
					b.Fatal(err)
				}
				defer db.Close()
			}
			var dbf, jf *os.File
			if bc.syncDB {
				// A second descriptor of the same file: its fdatasync
				// writes back what bbolt wrote through its own.
				dbf = openFile(b, db.Path(), 0)
			}
			if bc.record {
				size := int64(1 << 26)
				if bc.grow {
					size = 0
				}
				jf = openFile(b, filepath.Join(dir, "journal"), size)
			}
			var key [8]byte
			var off int64
			b.ResetTimer()
			for i := range b.N {
				if bc.idle > 0 {
					b.StopTimer()
					time.Sleep(bc.idle)
					b.StartTimer()
				}
				binary.BigEndian.PutUint64(key[:], uint64(i))
				if db != nil {
					if err := db.Update(func(tx *bolt.Tx) error {
						bk, err := tx.CreateBucketIfNotExists([]byte("messages"))
						if err != nil {
							return err
						}
						return bk.Put(key[:], val)
					}); err != nil {
						b.Fatal(err)
					}
				}
				if dbf != nil {
					fdatasync(b, dbf)
				}
				if jf != nil {
					if _, err := jf.WriteAt(val, off); err != nil {
						b.Fatal(err)
					}
					if off += int64(len(val)); !bc.grow && off+int64(len(val)) > 1<<26 {
						off = 0
					}
					fdatasync(b, jf)
				}
			}
		})
	}
}

// openFile opens path for writing, preallocated to size bytes and synced,
// so that a later fdatasync has no file size to record.
func openFile(b *testing.B, path string, size int64) *os.File {
	b.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	if size > 0 {
		if err := f.Truncate(size); err != nil {
			b.Fatal(err)
		}
		fdatasync(b, f)
	}
	return f
}

func fdatasync(b *testing.B, f *os.File) {
	b.Helper()
	if err := syscall.Fdatasync(int(f.Fd())); err != nil {
		b.Fatalf("fdatasync %s: %v", f.Name(), err)
	}
}
