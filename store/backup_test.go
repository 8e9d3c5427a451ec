package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/internal/readonly"
	bolt "go.etcd.io/bbolt"
)

func TestBackup(t *testing.T) {
	s, clk := openTest(t, nil)
	register(t, s, "alice", "bob")
	for _, id := range ids("m", 10) {
		send(t, s, id, "alice", "bob", "body "+id)
	}
	s.Ack(context.Background(), "bob", []string{"m0", "m1"})

	dir := filepath.Join(t.TempDir(), "restored")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "ipcmesh.db")
	if _, err := s.Backup(path); err != nil {
		t.Fatal(err)
	}
	// A second backup replaces the first in place.
	if _, err := s.Backup(path); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("backup left %d files, want 1", len(entries))
	}
	if runtime.GOOS != "windows" {
		if fi, _ := os.Stat(path); fi.Mode() != 0o600 {
			t.Fatalf("backup mode %v, want 0600", fi.Mode())
		}
	}

	r, err := Open(Options{Dir: dir, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got, want := unreadIDs(t, r, "bob"), unreadIDs(t, s, "bob"); !slices.Equal(got, want) {
		t.Fatalf("restored unread %v, want %v", got, want)
	}
	if _, body, err := r.Get("bob", "m0"); err != nil || body != "body m0" {
		t.Fatalf("restored history: %q %v", body, err)
	}
	a, _ := s.Stats()
	b, _ := r.Stats()
	if a != b {
		t.Fatalf("restored Stats %+v, want %+v", b, a)
	}
}

func TestBackupToMissingFolder(t *testing.T) {
	s, _ := openTest(t, nil)
	if _, err := s.Backup(filepath.Join(t.TempDir(), "no", "such", "x.db")); err == nil {
		t.Fatal("Backup into a missing folder succeeded")
	}
}

// fill gives s a bit of everything a backup must carry: small and large
// messages, a thread (whose index keeps keys with empty values) and a
// large shared value.
func fill(t *testing.T, s *Store) {
	t.Helper()
	register(t, s, "alice", "bob")
	for _, id := range ids("m", 4) {
		send(t, s, id, "alice", "bob", "body "+id)
	}
	send(t, s, "big", "alice", "bob", strings.Repeat("a large body ", 20))
	send(t, s, "big2", "bob", "alice", strings.Repeat("another large body ", 20))
	ds, err := s.Append(context.Background(), []Draft{{ID: "re", From: "bob", To: "alice", Content: "answer", ReplyTo: "m0"}})
	if err != nil || ds[0].Err != nil {
		t.Fatalf("reply: %v %v", err, ds[0].Err)
	}
	if _, err := s.Share(context.Background(), ipcmesh.Shared{Key: "spec", Content: strings.Repeat("a large value ", 20), StoredBy: "alice"}); err != nil {
		t.Fatal(err)
	}
}

// wantFilled checks that s holds what fill stored, large bodies included.
func wantFilled(t *testing.T, s *Store) {
	t.Helper()
	if _, body, err := s.Get("bob", "big"); err != nil || body != strings.Repeat("a large body ", 20) {
		t.Errorf("large message: %q, %v", body, err)
	}
	if _, body, err := s.Get("alice", "big2"); err != nil || body != strings.Repeat("another large body ", 20) {
		t.Errorf("second large message: %q, %v", body, err)
	}
	if sh, err := s.GetShared("spec"); err != nil || sh.Content != strings.Repeat("a large value ", 20) {
		t.Errorf("large shared value: %q, %v", sh.Content, err)
	}
	if msgs, err := s.Thread("re", 0, 0); err != nil || len(msgs) != 2 {
		t.Errorf("thread of the reply: %d messages, %v; want 2", len(msgs), err)
	}
	if got := unreadIDs(t, s, "bob"); !slices.Equal(got, []string{"m0", "m1", "m2", "m3", "big"}) {
		t.Errorf("bob's unread: %v", got)
	}
}

func TestBackupCarriesLargeBodies(t *testing.T) {
	small := func(o *Options) { o.LargeMessageBytes = 64 }
	s, _ := openTest(t, small)
	fill(t, s)
	dir := t.TempDir()
	// One file per transaction, as a store with many large bodies would
	// be added in several.
	if _, err := s.backup(filepath.Join(dir, dbFile), 1); err != nil {
		t.Fatal(err)
	}

	// The backup alone, opened as a data folder's store, has every body.
	r := openIn(t, dir, small)
	wantFilled(t, r)
	for folder, want := range map[string]int{largeDir: 2, sharedDir: 1} {
		if entries, _ := os.ReadDir(filepath.Join(dir, folder)); len(entries) != want {
			t.Errorf("%s holds %d files after opening the backup, want %d", folder, len(entries), want)
		}
	}
	r.db.View(func(tx *bolt.Tx) error {
		if tx.Bucket([]byte(bucketBackupFiles)) != nil {
			t.Error("the backup's files stay in the database once written out")
		}
		return nil
	})
}

func TestRestore(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Dir: dir, LargeMessageBytes: 64}
	s, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	fill(t, s)
	backup := filepath.Join(t.TempDir(), "backup.db")
	if _, err := s.Backup(backup); err != nil {
		t.Fatal(err)
	}
	after := send(t, s, "after", "alice", "bob", "sent after the backup")

	// Not while a broker holds the store.
	if _, err := Restore(dir, backup, 50*time.Millisecond); !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "stop every ipcmesh process") {
		t.Fatalf("restore under a running store: %v, want ErrLocked saying what to do", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// The large bodies come back from the backup, not from the folder.
	for _, folder := range spillFolders() {
		os.RemoveAll(filepath.Join(dir, folder))
	}

	res, err := Restore(dir, backup, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if res.Stats.Messages != 7 || res.Stats.Instances != 2 {
		t.Errorf("restored stats %+v, want 7 messages of 2 instances", res.Stats)
	}
	r, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	wantFilled(t, r)
	if _, found, _ := r.Lookup("after"); found {
		t.Error("a message sent after the backup is still there")
	}
	// Sequences come back too: the next message sorts after every other.
	if d := send(t, r, "next", "alice", "bob", "next"); d.Message.Seq <= after.Message.Seq-1 {
		t.Errorf("the next message has seq %d, not after the backup's last (%d)", d.Message.Seq, after.Message.Seq-1)
	}
	r.Close()

	// The store as it was is kept, and can itself be restored.
	if _, err := Restore(dir, res.Previous, time.Second); err != nil {
		t.Fatalf("restore the kept store %s: %v", res.Previous, err)
	}
	r, err = Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, found, _ := r.Lookup("after"); !found {
		t.Error("the store kept before the restore lacks the message sent after the backup")
	}
}

func TestRestoreRefusesWhatIsNotABackup(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.db")
	os.WriteFile(junk, []byte(strings.Repeat("not a database ", 1000)), 0o600)
	empty := filepath.Join(dir, "empty.db")
	db, err := bolt.Open(empty, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	zero := filepath.Join(dir, "zero.db")
	os.WriteFile(zero, nil, 0o600)
	data := filepath.Join(dir, "data")
	// The system words a missing file its own way ("no such file", "the
	// system cannot find the file"): the error names the file and is one.
	missing := filepath.Join(dir, "missing.db")
	// It names the file once, and what to give instead.
	if _, err := Restore(data, missing, time.Second); !errors.Is(err, fs.ErrNotExist) || strings.Count(err.Error(), missing) != 1 || !strings.Contains(err.Error(), "give the file ipcmesh backup wrote") {
		t.Errorf("Restore(missing.db) = %v, want a file-not-found error naming %s once and what to give instead", err, missing)
	}
	for _, tc := range []struct{ from, want string }{
		{zero, "the file is empty"},
		{dir, "that is a folder"},
		{junk, "not a backup made with ipcmesh backup"},
		{empty, "not an ipcmesh store"},
		{filepath.Join(data, dbFile), "the live database"},
	} {
		_, err := Restore(data, tc.from, time.Second)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Restore(%s) = %v, want an error saying %q", filepath.Base(tc.from), err, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(data, dbFile)); !os.IsNotExist(err) {
		t.Errorf("a refused restore made a store: %v", err)
	}
}

// A file that is no bbolt database, or a backup cut short, is refused in
// words that say the backup is damaged, not "the store", which a user
// reads as the live one, and that say what to give instead.
func TestRestoreSaysTheBackupIsDamaged(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	fill(t, s)
	backup := filepath.Join(t.TempDir(), "backup.db")
	if _, err := s.Backup(backup); err != nil {
		t.Fatal(err)
	}
	s.Close()
	whole, err := os.ReadFile(backup)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(t.TempDir(), "cut.db")
	os.WriteFile(cut, whole[:len(whole)/2], 0o600)
	text := filepath.Join(t.TempDir(), "notes.db")
	os.WriteFile(text, []byte("hello\n"), 0o600)

	for _, tc := range []struct {
		from string
		want []string
	}{
		{cut, []string{"the backup is damaged", "cut short", "give another backup"}},
		{text, []string{"not a backup made with ipcmesh backup", "the backup is damaged", "give the file ipcmesh backup wrote"}},
	} {
		_, err := Restore(dir, tc.from, time.Second)
		if !errors.Is(err, ErrDamaged) {
			t.Errorf("Restore(%s) = %v, want an error matching ErrDamaged", filepath.Base(tc.from), err)
			continue
		}
		for _, w := range append(tc.want, tc.from) {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("Restore(%s) = %q, want it to say %q", filepath.Base(tc.from), err, w)
			}
		}
		if strings.Contains(err.Error(), "the store is damaged") {
			t.Errorf("Restore(%s) = %q, says the store is damaged, of a backup", filepath.Base(tc.from), err)
		}
	}
	s, err = Open(Options{Dir: dir})
	if err != nil {
		t.Fatalf("the store after the refused restores does not open: %v", err)
	}
	s.Close()
}

// TestRestoreKeepsPreviousBodies restores a store that has large bodies
// over with one that has none, so that no record names those bodies' files
// any more, and removes the files, as anything clearing unnamed files
// would. Undoing the restore brings every body back all the same: the
// store kept before the restore carries them.
func TestRestoreKeepsPreviousBodies(t *testing.T) {
	opts := Options{Dir: t.TempDir(), LargeMessageBytes: 64}
	s, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	fill(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	other, _ := openTest(t, nil)
	register(t, other, "carol")
	backup := filepath.Join(t.TempDir(), "other.db")
	if _, err := other.Backup(backup); err != nil {
		t.Fatal(err)
	}

	res, err := Restore(opts.Dir, backup, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for _, folder := range spillFolders() {
		if err := os.RemoveAll(filepath.Join(opts.Dir, folder)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Restore(opts.Dir, res.Previous, time.Second); err != nil {
		t.Fatalf("restore the kept store %s: %v", res.Previous, err)
	}
	r, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	wantFilled(t, r)
}

// A backup taken while a large shared value is replaced restores the value
// its copy of the database names: the old file, which the new value's
// commit lets go of, stays until the backup has read it. Before, the
// backup found it gone, left it out without a word, and the restored key
// had no content.
func TestBackupWhileReplaced(t *testing.T) {
	small := func(o *Options) { o.LargeMessageBytes = 16 }
	s, _ := openTest(t, small)
	share := func(content string) {
		t.Helper()
		if _, err := s.Share(context.Background(), ipcmesh.Shared{Key: "plan", Content: content, StoredBy: "alice"}); err != nil {
			t.Errorf("share: %v", err)
		}
	}
	old := strings.Repeat("the old plan ", 10)
	share(old)
	beforeNextRead(s, func() { share(strings.Repeat("the new plan ", 10)) })
	dir := t.TempDir()
	if _, err := s.Backup(filepath.Join(dir, dbFile)); err != nil {
		t.Fatal(err)
	}
	onlyFile(t, s.sharedDir)

	r := openIn(t, dir, small)
	if sh, err := r.GetShared("plan"); err != nil || sh.Content != old {
		t.Fatalf("the restored key: %q, %v; want the value the backup's copy names", sh.Content, err)
	}
}

// A file that a record names but that is gone from the data folder (no
// write of the store removes one a record still names), or cut short, is
// left out of the backup, which names the file, its record and what
// became of it: the store lacks it already (it refuses a file of another
// size as the body), and the store restored from the backup answers for
// it as the live one does, with everything else whole. Before, the backup
// was refused until the record was swept, a month after it was read; a
// file cut short was copied without a word, and the restored store
// refused it.
func TestBackupLeavesOutMissingFiles(t *testing.T) {
	small := func(o *Options) { o.LargeMessageBytes = 64 }
	s, _ := openTest(t, small)
	fill(t, s)
	body := filepath.Base(send(t, s, "gone", "alice", "bob", strings.Repeat("a lost body ", 20)).Message.Path)
	value := filepath.Base(onlyFile(t, s.sharedDir))
	if err := os.Remove(filepath.Join(s.largeDir, body)); err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(s.sharedDir, value)
	fi, err := os.Stat(cut)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(cut, 10); err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(t.TempDir(), "backup.db")
	missing, err := s.Backup(backup)
	if err != nil {
		t.Fatalf("a backup of a store missing two of its files: %v", err)
	}
	got := strings.Join(missing, "; ")
	for _, want := range []string{
		filepath.Join(largeDir, body) + ` (message "gone", removed)`,
		filepath.Join(sharedDir, value) + fmt.Sprintf(` (shared key "spec", changed: 10 bytes, not the %d written there)`, fi.Size()),
	} {
		if !strings.Contains(got, want) {
			t.Errorf("Backup named as missing %q, want %q among them", got, want)
		}
	}
	if len(missing) != 2 {
		t.Errorf("Backup named %d files as missing, want 2: %q", len(missing), got)
	}
	_, _, liveGone := s.Get("bob", "gone")
	_, liveSpec := s.GetShared("spec")
	if liveGone == nil || liveSpec == nil {
		t.Fatalf("the live store reads what was removed by hand: %v, %v", liveGone, liveSpec)
	}

	dir := t.TempDir()
	if _, err := Restore(dir, backup, time.Second); err != nil {
		t.Fatalf("restore the backup: %v", err)
	}
	r := openIn(t, dir, small)
	if _, body, err := r.Get("bob", "big"); err != nil || body != strings.Repeat("a large body ", 20) {
		t.Errorf("a large message of the backup: %q, %v", body, err)
	}
	if _, body, err := r.Get("alice", "big2"); err != nil || body != strings.Repeat("another large body ", 20) {
		t.Errorf("another large message of the backup: %q, %v", body, err)
	}
	if _, _, err := r.Get("bob", "gone"); ipcmesh.CodeOf(err) != ipcmesh.CodeOf(liveGone) {
		t.Errorf("the restored message whose body was removed: %v; the live store said %v", err, liveGone)
	}
	if _, err := r.GetShared("spec"); ipcmesh.CodeOf(err) != ipcmesh.CodeOf(liveSpec) {
		t.Errorf("the restored shared value whose file was removed: %v; the live store said %v", err, liveSpec)
	}
}

// Restore keeps the store it replaces as it is, a file removed by hand
// left out: refusing would leave the user with that store.
func TestRestoreOverAStoreMissingAFile(t *testing.T) {
	opts := Options{Dir: t.TempDir(), LargeMessageBytes: 64}
	s, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	fill(t, s)
	lost := onlyFile(t, s.sharedDir)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(lost); err != nil {
		t.Fatal(err)
	}
	other, _ := openTest(t, nil)
	backup := filepath.Join(t.TempDir(), "other.db")
	if _, err := other.Backup(backup); err != nil {
		t.Fatal(err)
	}
	res, err := Restore(opts.Dir, backup, time.Second)
	if err != nil {
		t.Fatalf("restore over a store missing a file: %v", err)
	}
	if _, err := os.Stat(res.Previous); err != nil {
		t.Fatalf("the store as it was is not kept: %v", err)
	}
}

// openIn opens the store in dir, as a data folder's, with the options
// tweak sets, until the test ends.
func openIn(t *testing.T, dir string, tweak func(*Options)) *Store {
	t.Helper()
	opts := Options{Dir: dir}
	tweak(&opts)
	r, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// A backup that carries a file under a name Open would refuse to write (a
// damaged or doctored backup) is refused before anything is replaced.
// Before, Restore replaced the store with it and only then failed, leaving
// a data folder whose store every later Open refused.
func TestRestoreRefusesBadCarriedFile(t *testing.T) {
	small := func(o *Options) { o.LargeMessageBytes = 64 }
	s, _ := openTest(t, small)
	fill(t, s)
	backup := filepath.Join(t.TempDir(), "backup.db")
	if _, err := s.Backup(backup); err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(backup, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte(bucketBackupFiles)).Bucket([]byte(largeDir)).Put([]byte("../escape.md"), []byte("x"))
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	r := openIn(t, dir, small)
	register(t, r, "carol")
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = Restore(dir, backup, time.Second)
	if err == nil || !strings.Contains(err.Error(), backup) || !strings.Contains(err.Error(), "not a plain file name") {
		t.Fatalf("restore of a backup carrying ../escape.md: %v, want it refused, naming the backup and the bad name", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "backups")); !os.IsNotExist(err) {
		t.Errorf("a refused restore kept a copy of the store: %v", err)
	}
	r = openIn(t, dir, small)
	if _, ok, err := r.Session("carol"); err != nil || !ok {
		t.Fatalf("the store is not as it was after a refused restore: carol's session %v, %v", ok, err)
	}
}

// The database of a store in use, given as the backup to restore, is
// refused for what it is: in use, not a file of another kind. Before, the
// lock its broker holds made it "not a backup made with ipcmesh backup".
func TestRestoreRefusesADatabaseInUse(t *testing.T) {
	s, _ := openTest(t, nil)
	register(t, s, "alice")
	from := filepath.Join(s.Dir(), dbFile)
	_, err := Restore(t.TempDir(), from, time.Second)
	if err == nil {
		t.Fatal("restore from a database in use succeeded")
	}
	for _, want := range []string{from, "in use", "ipcmesh backup"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("restore from a database in use: %q does not say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "not a backup") {
		t.Errorf("restore from a database in use calls it not a backup: %v", err)
	}

	// The live database under another name is the live database too; it
	// was taken for a backup whose restore a broker blocked.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "backup.db")
	if err := os.Symlink(from, link); err != nil {
		t.Skipf("no symbolic links here: %v", err)
	}
	if _, err := Restore(s.Dir(), link, 50*time.Millisecond); err == nil || !strings.Contains(err.Error(), "the live database") {
		t.Errorf("restore from a link to the live database: %v, want it called the live database", err)
	}
}

// A restore whose large bodies cannot be written back (a full disk; here
// a folder made read-only) says that the backup is in place and that the
// store keeps the bodies until they are written, and the store opened
// once they can be has every one. Before, it said only "open the restored
// store: put back the files of a backup: ...", which read as a restore
// that failed, and a broker started on it said no more.
func TestRestoreWhoseBodiesFindNoRoom(t *testing.T) {
	small := func(o *Options) { o.LargeMessageBytes = 16 }
	src, _ := openTest(t, small)
	register(t, src, "bob")
	body := strings.Repeat("a large body ", 10)
	send(t, src, "big", "alice", "bob", body)
	backup := filepath.Join(t.TempDir(), "backup.db")
	if _, err := src.Backup(backup); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	large := filepath.Join(dir, largeDir)
	writable := readonly.Folder(t, large)

	_, err = Restore(dir, backup, time.Second)
	for _, want := range []string{"the backup is in place of the store", "the store keeps them until they are written"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("a restore whose bodies cannot be written: %v; want it to say %q", err, want)
		}
	}
	_, err = Open(Options{Dir: dir})
	if want := "the store keeps them until they are written"; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Open while the bodies cannot be written: %v; want it to say %q", err, want)
	}
	writable()
	r := openIn(t, dir, small)
	if _, got, err := r.Get("bob", "big"); err != nil || got != body {
		t.Fatalf("the restored large body once it can be written: %q, %v", got, err)
	}
}
