//go:build linux

package store

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh"
	bolt "go.etcd.io/bbolt"
)

// journalOf reads the journal of an open store's folder as it is on disk.
func journalOf(t *testing.T, dir string) (checkpoint, [][]byte, bool) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, journalFile))
	if err != nil {
		t.Fatal(err)
	}
	return parseJournal(data)
}

// checkDB fails the test unless every page of the store's file is sound.
// Nothing may write to the store meanwhile.
func checkDB(t *testing.T, s *Store) {
	t.Helper()
	if err := s.db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			return err
		}
		return nil
	}); err != nil {
		t.Fatalf("the database is damaged: %v", err)
	}
}

// quietStore opens a store whose background indexer is stopped: its
// commits, synced, would clear the journal under the test's feet.
func quietStore(t *testing.T) *Store {
	t.Helper()
	s, _ := openTest(t, nil)
	s.idx.close()
	return s
}

func TestLoneSendIsAckedAfterTheJournal(t *testing.T) {
	s := quietStore(t)
	register(t, s, "bob")
	if _, _, ok := journalOf(t, s.Dir()); ok {
		t.Fatal("the journal names a checkpoint before any send")
	}
	send(t, s, "m1", "alice", "bob", "hello")
	send(t, s, "m2", "alice", "bob", "again")
	ck, recs, ok := journalOf(t, s.Dir())
	if !ok || len(recs) != 2 {
		t.Fatalf("journal after two sends: header %v, %d records; want 2", ok, len(recs))
	}
	if !strings.Contains(string(recs[0]), `"m1"`) || !strings.Contains(string(recs[1]), `"m2"`) {
		t.Fatalf("journal records %q, %q: want m1 then m2", recs[0], recs[1])
	}
	if txid, ok := metaTxidOf(ck.page); !ok || txid != ck.txid {
		t.Fatalf("the journal's checkpoint %d holds meta page of %d (whole: %v)", ck.txid, txid, ok)
	}

	// An ack is journaled as a send is.
	if _, err := s.Ack(context.Background(), "bob", []string{"m1"}); err != nil {
		t.Fatal(err)
	}
	if _, recs, ok := journalOf(t, s.Dir()); !ok || len(recs) != 3 || !strings.Contains(string(recs[2]), `"ack"`) {
		t.Fatalf("journal after an ack: header %v, %d records; want the ack as the third", ok, len(recs))
	}
	// A write that is neither is synced by bbolt, and is acked only once
	// the journal no longer names the checkpoint it replaces.
	register(t, s, "carol")
	if _, _, ok := journalOf(t, s.Dir()); ok {
		t.Fatal("the journal still names a checkpoint after a synced commit")
	}
	send(t, s, "m3", "alice", "bob", "third")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := journalOf(t, s.Dir()); ok {
		t.Fatal("a store closed in order left a journal to replay")
	}
}

// The journal of a new data folder is given its size up front, so that
// no record's sync has a file size to record; the records overwrite its
// zeros, and a reading stops where they end.
func TestJournalIsPreallocated(t *testing.T) {
	s := quietStore(t)
	path := filepath.Join(s.Dir(), journalFile)
	size := func() int64 {
		t.Helper()
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return st.Size()
	}
	if got := size(); got != journalSize {
		t.Fatalf("a new folder's journal is %d bytes, want %d", got, journalSize)
	}
	register(t, s, "bob")
	var ids []string
	for i := range 50 {
		ids = append(ids, fmt.Sprint("m", i))
		send(t, s, ids[i], "alice", "bob", strings.Repeat("x", 200))
	}
	if got := size(); got != journalSize {
		t.Fatalf("50 sends grew the journal to %d bytes from %d", got, journalSize)
	}
	if _, recs, ok := journalOf(t, s.Dir()); !ok || len(recs) != 50 {
		t.Fatalf("the journal reads as %d records (header %v), want the 50 sends", len(recs), ok)
	}
}

// crashCopy builds, in a new folder, the data folder as a power loss could
// leave it: the database file as it was at the checkpoint (every later
// page lost), as it is now, or a mix, and the journal as it is now.
type crashCopy struct {
	checkpoint, now, journal []byte
}

func (c crashCopy) folder(t *testing.T, db func(c crashCopy) []byte, journal []byte) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, dbFile), db(c), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, journalFile), journal, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// journaledSends opens a store, takes a checkpoint, sends n messages to bob
// and copies the files as they are, without closing the store.
func journaledSends(t *testing.T, n int) crashCopy {
	t.Helper()
	s := quietStore(t)
	register(t, s, "bob")
	var c crashCopy
	var err error
	path := filepath.Join(s.Dir(), dbFile)
	if c.checkpoint, err = os.ReadFile(path); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		send(t, s, fmt.Sprintf("m%02d", i), "alice", "bob", fmt.Sprintf("message %d", i))
	}
	// The last sends may be in a transaction still open (see
	// committer.linger), in no file but the journal: now is the file once
	// they are committed, as a crash a little later finds it.
	s.c.flush()
	if c.now, err = os.ReadFile(path); err != nil {
		t.Fatal(err)
	}
	if c.journal, err = os.ReadFile(filepath.Join(s.Dir(), journalFile)); err != nil {
		t.Fatal(err)
	}
	if _, recs, _ := parseJournal(c.journal); len(recs) != n {
		t.Fatalf("%d sends left %d journal records", n, len(recs))
	}
	return c
}

// withMetas returns data with its two meta pages taken from metas.
func withMetas(data, metas []byte, pageSize int) []byte {
	out := slices.Clone(data)
	copy(out[:2*pageSize], metas[:2*pageSize])
	return out
}

func reopen(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatalf("Open after the crash: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	// bbolt checks pages against the freelist of the moment: no commit
	// may run meanwhile.
	s.idx.close()
	checkDB(t, s)
	// What the checkpoint held is there: bob was registered before it.
	if _, ok, err := s.Session("bob"); err != nil || !ok {
		t.Fatalf("bob's session, stored at the checkpoint, is gone after the crash (err %v)", err)
	}
	return s
}

// Whatever part of the commits after the checkpoint reached the disk, and
// in whatever order, every acked send is there after Open, and the file is
// sound.
func TestPowerLossKeepsJournaledSends(t *testing.T) {
	const n = 150
	c := journaledSends(t, n)
	size := os.Getpagesize()
	if ck, _, _ := parseJournal(c.journal); len(ck.page) != size {
		size = len(ck.page)
	}
	for _, tc := range []struct {
		name string
		db   func(c crashCopy) []byte
	}{
		{"nothing after the checkpoint", func(c crashCopy) []byte { return c.checkpoint }},
		{"meta pages without their data", func(c crashCopy) []byte {
			grown := append(slices.Clone(c.checkpoint), make([]byte, max(0, len(c.now)-len(c.checkpoint)))...)
			return withMetas(grown, c.now, size)
		}},
		{"data without its meta pages", func(c crashCopy) []byte { return withMetas(c.now, c.checkpoint, size) }},
		{"torn meta pages", func(c crashCopy) []byte { return withMetas(c.now, make([]byte, 2*size), size) }},
		{"everything, as after kill -9", func(c crashCopy) []byte { return c.now }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := reopen(t, c.folder(t, tc.db, c.journal))
			if got, want := unreadIDs(t, s, "bob"), sent(n); !slices.Equal(got, want) {
				t.Fatalf("bob's inbox after the crash: %v, want %v", got, want)
			}
			if _, _, ok := journalOf(t, s.Dir()); ok {
				t.Fatal("the journal was not cleared once its sends were stored")
			}
			// The store goes on as usual.
			send(t, s, "after", "alice", "bob", "after the crash")
		})
	}
}

// sent returns the ids of journaledSends's first n sends.
func sent(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("m%02d", i)
	}
	return out
}

// A journal whose tail was being written when the power went is read up
// to its last whole record, and a damaged record ends it: Open brings back
// the checkpoint exactly, however many commits after it reused the file's
// free pages, and stores the whole records' sends again.
func TestTornJournalTail(t *testing.T) {
	const n = 150
	c := journaledSends(t, n)
	// A tail torn off is what a power loss leaves, and the machine then
	// starts another boot: the file's commits past the records left are
	// then this build's own, not another's (see writtenPast).
	c.journal = inAnotherBoot(t, c.journal)
	ck, recs, _ := parseJournal(c.journal)
	// at[i] is where record i begins.
	at := []int{headerFixed + len(ck.page)}
	for _, r := range recs {
		at = append(at, at[len(at)-1]+recordFixed+len(r))
	}
	for _, tc := range []struct {
		name    string
		journal []byte
		kept    int
	}{
		{"last record cut short", c.journal[:at[n-1]+recordFixed+len(recs[n-1])/2], n - 1},
		{"only the last record's length", c.journal[:at[n-1]+4], n - 1},
		{"a byte of the fifth record flipped", flip(c.journal, at[4]+recordFixed+2), 4},
		{"no whole record", c.journal[:at[0]+recordFixed-1], 0},
		// No header: the broker was not writing the journal, so the file
		// on disk is whole as it is.
		{"header cut short", c.journal[:headerFixed+10], n},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := reopen(t, c.folder(t, func(c crashCopy) []byte { return c.now }, tc.journal))
			if got := unreadIDs(t, s, "bob"); !slices.Equal(got, sent(tc.kept)) {
				t.Fatalf("bob's inbox: %d messages %v, want the first %d sends", len(got), got[:min(len(got), 8)], tc.kept)
			}
		})
	}
}

func flip(b []byte, i int) []byte {
	out := slices.Clone(b)
	out[i] ^= 0xff
	return out
}

const crashChild = "IPCMESH_STORE_CRASH_DIR"

// A store killed with SIGKILL in the middle of a stream of acked sends has
// every acked one once it is opened again.
func TestKilledDuringSendsKeepsAckedOnes(t *testing.T) {
	if dir := os.Getenv(crashChild); dir != "" {
		sendUntilKilled(dir)
		return
	}
	dir := t.TempDir()
	c := startChild(t, "TestKilledDuringSendsKeepsAckedOnes", crashChild, dir)
	acked := c.acked(300)
	c.kill(t)
	if len(acked) < 300 {
		t.Fatalf("the child acked %d sends before it stopped: %s", len(acked), c.stderr.String())
	}
	s := reopen(t, dir)
	for _, id := range acked {
		if _, ok, err := s.Lookup(id); err != nil || !ok {
			t.Fatalf("acked send %s is missing after the kill (found: %v, err: %v)", id, ok, err)
		}
	}
}

// sendUntilKilled is the child of TestKilledDuringSendsKeepsAckedOnes: it
// sends, and prints each send's id once it is acked, until it is killed.
// A session is put now and then, so that the journal is cleared and
// started again in the middle of the stream.
func sendUntilKilled(dir string) {
	s, err := Open(Options{Dir: dir})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx := context.Background()
	w := bufio.NewWriter(os.Stdout)
	for i := 0; ; i++ {
		if i%50 == 0 {
			sess := Session{Name: "bob", ID: fmt.Sprint("sess-", i), Expires: time.Now().Add(time.Hour)}
			if err := s.PutSession(ctx, sess); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
		}
		id := fmt.Sprint("k", i)
		ds, err := s.Append(ctx, []Draft{{ID: id, From: "alice", To: "bob", Content: "a message sent until the broker is killed"}})
		if err != nil || ds[0].Err != nil {
			fmt.Fprintln(os.Stderr, err, ds)
			os.Exit(1)
		}
		fmt.Fprintln(w, "acked", id)
		w.Flush()
	}
}

// A restore into a data folder whose journal still holds sends keeps them
// in the copy of the store it replaces, and does not replay them onto the
// restored one.
func TestRestoreOverAPendingJournal(t *testing.T) {
	c := journaledSends(t, 5)
	dir := c.folder(t, func(c crashCopy) []byte { return c.now }, c.journal)

	other, _ := openTest(t, nil)
	register(t, other, "carol")
	send(t, other, "from-backup", "alice", "carol", "kept in the backup")
	backup := filepath.Join(t.TempDir(), "backup.db")
	if _, err := other.Backup(backup); err != nil {
		t.Fatal(err)
	}

	res, err := Restore(dir, backup, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if journalPending(dir) {
		t.Fatal("the journal is still pending after the restore")
	}
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	_, restored, _ := s.Lookup("from-backup")
	_, replayed, _ := s.Lookup("m00")
	s.Close()
	if !restored || replayed {
		t.Fatalf("after the restore: the backup's message there: %v, a journaled send there: %v; want true, false", restored, replayed)
	}

	prev := t.TempDir()
	if _, err := Restore(prev, res.Previous, time.Second); err != nil {
		t.Fatal(err)
	}
	p, err := Open(Options{Dir: prev})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if got := unreadIDs(t, p, "bob"); !slices.Equal(got, sent(5)) {
		t.Fatalf("the store kept before the restore has %v for bob, want the journaled sends %v", got, sent(5))
	}
}

// The pages a stream of sends rewrites are not reused until the next
// checkpoint: a long stream is given one before the file grows far.
func TestLongStreamOfSendsTakesCheckpoints(t *testing.T) {
	s := quietStore(t)
	register(t, s, "bob")
	path := filepath.Join(s.Dir(), dbFile)
	before, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	// Each commit of a send to one inbox rewrites a few pages, about 30
	// KiB, and the journal grows by a record per send: 3,000 of them,
	// committed one by one, would grow the file by some 90 MiB with no
	// checkpoint, and the journal past its cap.
	for i := range 3000 {
		send(t, s, fmt.Sprint("s", i), "alice", "bob", "one of a long stream")
	}
	after, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if grown := after.Size() - before.Size(); grown > growCap+4*allocSize {
		t.Fatalf("1,000 sends grew the database by %d bytes; want at most %d past the checkpoint", grown, growCap+4*allocSize)
	}
	if _, recs, _ := journalOf(t, s.Dir()); len(recs) >= 3000 {
		t.Fatalf("the journal holds all %d sends: no checkpoint was taken", len(recs))
	}
}

// holdSync makes the journal's next sync wait, once, until release is
// called; entered is closed when it begins.
func holdSync(s *Store) (entered <-chan struct{}, release func()) {
	in, out := make(chan struct{}), make(chan struct{})
	var once sync.Once
	s.c.d.sync = func(f *os.File) error {
		once.Do(func() { close(in); <-out })
		return datasync(f)
	}
	return in, func() { close(out) }
}

// A send that answers a pushed message is committed, and pushed in turn,
// while the sync of the message it answers is still under way: a round
// trip costs one sync, not two in a row.
func TestReplyIsNotCommittedBehindTheSync(t *testing.T) {
	s := quietStore(t)
	register(t, s, "alice", "bob")
	// The first send after a checkpoint syncs the journal's header itself.
	send(t, s, "m0", "alice", "bob", "first")
	entered, release := holdSync(s)
	ctx := context.Background()
	ping := make(chan error, 1)
	go func() {
		_, err := s.Append(ctx, []Draft{{ID: "ping", From: "alice", To: "bob", Content: "ping"}})
		ping <- err
	}()
	<-entered
	pushed, pong := make(chan struct{}), make(chan error, 1)
	go func() {
		_, err := s.AppendEarly(ctx, []Draft{{ID: "pong", From: "bob", To: "alice", Content: "pong", ReplyTo: "ping"}},
			func([]Delivery) { close(pushed) })
		pong <- err
	}()
	select {
	case <-pushed:
	case <-time.After(10 * time.Second):
		release()
		t.Fatal("the answer was not committed while the sync of the message it answers was held")
	}
	select {
	case err := <-ping:
		t.Fatalf("ping was answered (%v) before its record was synced", err)
	default:
	}
	release()
	if err := <-ping; err != nil {
		t.Fatalf("ping: %v", err)
	}
	if err := <-pong; err != nil {
		t.Fatalf("pong: %v", err)
	}
}

// A sync of the journal that fails is the error of the sends waiting for
// it; the next commit is synced by bbolt and clears the journal, and sends
// are journaled again after it.
func TestFailedJournalSync(t *testing.T) {
	s := quietStore(t)
	register(t, s, "bob")
	send(t, s, "m0", "alice", "bob", "first")
	var once sync.Once
	s.c.d.sync = func(f *os.File) error {
		err := datasync(f)
		once.Do(func() { err = fmt.Errorf("the disk is on fire") })
		return err
	}
	if _, err := s.Append(context.Background(), []Draft{{ID: "m1", From: "alice", To: "bob", Content: "lost?"}}); err == nil || !strings.Contains(err.Error(), "on fire") {
		t.Fatalf("a send whose record's sync failed: %v, want that failure", err)
	}
	send(t, s, "m2", "alice", "bob", "synced by bbolt")
	if _, _, ok := journalOf(t, s.Dir()); ok {
		t.Fatal("the journal still names a checkpoint after the commit that followed a failed sync")
	}
	send(t, s, "m3", "alice", "bob", "journaled again")
	if _, recs, ok := journalOf(t, s.Dir()); !ok || len(recs) != 1 {
		t.Fatalf("after the failure was covered: journal %v with %d records, want 1", ok, len(recs))
	}
	// m1 was committed though its sender was told it failed: a retry with
	// its id stores nothing new.
	if got := unreadIDs(t, s, "bob"); !slices.Equal(got, []string{"m0", "m1", "m2", "m3"}) {
		t.Fatalf("bob's inbox %v", got)
	}
}

// A batch of sends that fails, and whose sends then fail alone too, has
// no commit that bbolt synced: the journal must go on naming its
// checkpoint and keeping the sends journaled before it, whose pages are
// not on disk yet.
func TestFailedBatchKeepsTheJournal(t *testing.T) {
	s := quietStore(t)
	register(t, s, "bob")
	send(t, s, "m0", "alice", "bob", "first")
	ctx := context.Background()
	release := holdJournaled(t, s)
	failing := make(chan error, 2)
	for range 2 {
		go func() {
			failing <- s.c.submitJournaled(ctx, func(*bolt.Tx) error {
				return fmt.Errorf("no room")
			}, nil, &journalEntry{})
		}()
	}
	waitQueued(t, s.c, 2)
	release()
	for range 2 {
		if err := <-failing; err == nil {
			t.Fatal("a failing send was acked")
		}
	}
	if _, recs, ok := journalOf(t, s.Dir()); !ok || len(recs) != 2 {
		t.Fatalf("after a batch that committed nothing: journal %v with %d records, want the 2 before it", ok, len(recs))
	}
}

// A send whose commit fails after its record reached the journal is told it
// failed; a crash before the next checkpoint must not store it after all.
// Here the record is the first after the checkpoint, written with the
// journal's header, and its sync fails: the record may be on disk all the
// same.
func TestFailedSendIsNotReplayed(t *testing.T) {
	s := quietStore(t)
	register(t, s, "bob")
	s.c.d.sync = func(f *os.File) error {
		datasync(f) // on disk, for the crash copy below to see it
		return fmt.Errorf("the disk is on fire")
	}
	if _, err := s.Append(context.Background(), []Draft{{ID: "m1", From: "alice", To: "bob", Content: "failed"}}); err == nil {
		t.Fatal("a send whose journal record failed was acked")
	}
	db, err := os.ReadFile(filepath.Join(s.Dir(), dbFile))
	if err != nil {
		t.Fatal(err)
	}
	journal, err := os.ReadFile(filepath.Join(s.Dir(), journalFile))
	if err != nil {
		t.Fatal(err)
	}
	r := reopen(t, crashCopy{now: db}.folder(t, func(c crashCopy) []byte { return c.now }, journal))
	if got := unreadIDs(t, r, "bob"); len(got) != 0 {
		t.Fatalf("bob's inbox after the crash: %v, want it empty: the failed send came back", got)
	}
}

// An ack made after the checkpoint is made again by the replay: what was
// read stays read, on the same state, after a power loss.
func TestPowerLossKeepsJournaledAcks(t *testing.T) {
	s := quietStore(t)
	register(t, s, "bob")
	path := filepath.Join(s.Dir(), dbFile)
	checkpoint, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"m1", "m2", "m3"} {
		send(t, s, id, "alice", "bob", "hello "+id)
	}
	if n, err := s.Ack(context.Background(), "bob", []string{"m1", "m3", "unknown"}); err != nil || n != 2 {
		t.Fatalf("Ack = %d, %v; want 2 read", n, err)
	}
	send(t, s, "m4", "alice", "bob", "after the ack")
	journal, err := os.ReadFile(filepath.Join(s.Dir(), journalFile))
	if err != nil {
		t.Fatal(err)
	}
	r := reopen(t, crashCopy{checkpoint: checkpoint}.folder(t, func(c crashCopy) []byte { return c.checkpoint }, journal))
	if got, want := unreadIDs(t, r, "bob"), []string{"m2", "m4"}; !slices.Equal(got, want) {
		t.Fatalf("bob's inbox after the crash: %v, want %v", got, want)
	}
	if n, err := r.UnreadCount("bob"); err != nil || n != 2 {
		t.Fatalf("bob's unread count after the crash: %d, %v; want 2", n, err)
	}
	// The replayed ack started m1's history clock: it is still there to read.
	if _, body, err := r.Get("bob", "m1"); err != nil || body != "hello m1" {
		t.Fatalf("m1 after the crash: %q, %v", body, err)
	}
}

// A send refused at commit time (here inbox_full, and a reply to a message
// that does not exist) was not stored: its sender was told so, and a crash
// before the next checkpoint must not store it after all. The journal holds
// only what was stored, so the replay, which applies no inbox cap, finds
// nothing of the refused sends to store.
func TestPowerLossDoesNotStoreRefusedSends(t *testing.T) {
	s, _ := openTest(t, func(o *Options) { o.InboxCap = 2 })
	s.idx.close()
	register(t, s, "bob", "carol")
	path := filepath.Join(s.Dir(), dbFile)
	checkpoint, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	send(t, s, "m1", "alice", "bob", "first")
	send(t, s, "m2", "alice", "bob", "second: bob's inbox is full")
	// A batch whose every draft is refused.
	ds, err := s.Append(ctx, []Draft{{ID: "over1", From: "alice", To: "bob", Content: "one too many"}})
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, ds[0].Err, ipcmesh.CodeInboxFull)
	// A batch with a stored draft between refused ones.
	ds, err = s.Append(ctx, []Draft{
		{ID: "over2", From: "alice", To: "bob", Content: "still too many"},
		{ID: "c1", From: "alice", To: "carol", Content: "carol has room"},
		{ID: "orphan", From: "alice", To: "carol", Content: "answers nothing", ReplyTo: "no-such-message"},
	})
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, ds[0].Err, ipcmesh.CodeInboxFull)
	if ds[1].Err != nil {
		t.Fatalf("c1 was refused: %v", ds[1].Err)
	}
	wantCode(t, ds[2].Err, ipcmesh.CodeNotFound)
	// A retry of a stored send writes nothing new.
	if ds, err := s.Append(ctx, []Draft{{ID: "m1", From: "alice", To: "bob", Content: "first"}}); err != nil || !ds[0].Duplicate {
		t.Fatalf("retry of m1: %+v, %v; want a duplicate", ds, err)
	}
	journal, err := os.ReadFile(filepath.Join(s.Dir(), journalFile))
	if err != nil {
		t.Fatal(err)
	}
	_, recs, ok := parseJournal(journal)
	if !ok || len(recs) != 5 {
		t.Fatalf("journal after five sends: header %v, %d records; want 5", ok, len(recs))
	}
	for _, id := range []string{"over1", "over2", "orphan"} {
		if slices.ContainsFunc(recs, func(r []byte) bool { return strings.Contains(string(r), `"`+id+`"`) }) {
			t.Fatalf("the journal records refused send %s", id)
		}
	}

	r := reopen(t, crashCopy{checkpoint: checkpoint}.folder(t, func(c crashCopy) []byte { return c.checkpoint }, journal))
	if got, want := unreadIDs(t, r, "bob"), []string{"m1", "m2"}; !slices.Equal(got, want) {
		t.Fatalf("bob's inbox after the crash: %v, want %v", got, want)
	}
	if n, err := r.UnreadCount("bob"); err != nil || n != 2 {
		t.Fatalf("bob's unread count after the crash: %d, %v; want 2", n, err)
	}
	if got, want := unreadIDs(t, r, "carol"), []string{"c1"}; !slices.Equal(got, want) {
		t.Fatalf("carol's inbox after the crash: %v, want %v", got, want)
	}
	for _, id := range []string{"over1", "over2", "orphan"} {
		if m, ok, err := r.Lookup(id); err != nil || ok {
			t.Fatalf("refused send %s after the crash: found %v (%+v), err %v; want it absent", id, ok, m, err)
		}
	}
	for _, id := range []string{"over1", "over2"} {
		_, _, err := r.Get("bob", id)
		wantCode(t, err, ipcmesh.CodeNotFound)
	}
	for _, id := range []string{"m1", "m2", "c1"} {
		if _, ok, err := r.Lookup(id); err != nil || !ok {
			t.Fatalf("stored send %s after the crash: found %v, err %v", id, ok, err)
		}
	}
}

// A store opened without syncs (a bench, a test) still replays a journal
// left by one that had them, and clears it only with its sends on disk.
func TestReplayWithoutSyncs(t *testing.T) {
	const n = 5
	c := journaledSends(t, n)
	dir := c.folder(t, func(c crashCopy) []byte { return c.checkpoint }, c.journal)
	s, err := Open(Options{Dir: dir, NoSync: true})
	if err != nil {
		t.Fatalf("Open without syncs after the crash: %v", err)
	}
	defer s.Close()
	if got, want := unreadIDs(t, s, "bob"), sent(n); !slices.Equal(got, want) {
		t.Fatalf("bob's inbox after the crash: %v, want %v", got, want)
	}
	if _, _, ok := journalOf(t, dir); ok {
		t.Fatal("the journal was not cleared once its sends were stored")
	}
}

// failJournalWrites makes every write of the journal fail, as on a disk
// that returns EIO, until the returned func is called. Nothing may be
// waiting for the journal's sync meanwhile.
func failJournalWrites(t *testing.T, s *Store) (restore func()) {
	t.Helper()
	good := s.c.d.j.f
	readOnly, err := os.Open(good.Name())
	if err != nil {
		t.Fatal(err)
	}
	s.c.d.j.f = readOnly
	return func() {
		s.c.d.j.f = good
		readOnly.Close()
	}
}

// A large send whose commit succeeded, but after which the journal could
// not be cleared, is in its recipient's inbox: its body stays, where it
// was removed as if the send had not been stored. Its sender is told it
// is stored but not yet safe from a crash, and that sending it again is
// safe: the retry is a duplicate, answered once the journal is cleared.
func TestLargeSendKeepsItsBodyWhenTheJournalFailsAfterTheCommit(t *testing.T) {
	s := quietStore(t)
	register(t, s, "bob")
	// A journaled send: the journal names a checkpoint, which the large
	// send's commit must clear.
	send(t, s, "m0", "alice", "bob", "small")
	body := strings.Repeat("L", 50000)
	restore := failJournalWrites(t, s)
	_, err := s.Append(context.Background(), []Draft{{ID: "big", From: "alice", To: "bob", Content: body}})
	restore()
	if err == nil || !strings.Contains(err.Error(), "is committed") || !strings.Contains(err.Error(), "same id") {
		t.Fatalf("a send committed before the journal failed: %v; want an error that says it is stored and may be sent again", err)
	}
	if got := unreadIDs(t, s, "bob"); !slices.Equal(got, []string{"m0", "big"}) {
		t.Fatalf("bob's inbox %v, want m0 and big", got)
	}
	if _, got, err := s.Get("bob", "big"); err != nil || got != body {
		t.Fatalf("fetch of big: %d bytes, %v; want its body", len(got), err)
	}
	ds, err := s.Append(context.Background(), []Draft{{ID: "big", From: "alice", To: "bob", Content: body}})
	if err != nil || !ds[0].Duplicate {
		t.Fatalf("the retry: %+v, %v; want a duplicate", ds, err)
	}
	if _, _, ok := journalOf(t, s.Dir()); ok {
		t.Fatal("the journal still names a checkpoint after the retry's commit")
	}
	if files := spillFiles(t, s); len(files) != 1 {
		t.Fatalf("large-messages/ holds %v, want the one body", files)
	}
}

// Share keeps both files when the journal fails after its commit: the
// new value is stored, and the old one comes back if a crash undoes the
// commit.
func TestShareKeepsItsFilesWhenTheJournalFailsAfterTheCommit(t *testing.T) {
	s := quietStore(t)
	ctx := context.Background()
	old, next := strings.Repeat("O", 50000), strings.Repeat("N", 50000)
	if _, err := s.Share(ctx, ipcmesh.Shared{Key: "plan", Content: old, StoredBy: "alice"}); err != nil {
		t.Fatal(err)
	}
	register(t, s, "bob")
	send(t, s, "m0", "alice", "bob", "small")
	restore := failJournalWrites(t, s)
	_, err := s.Share(ctx, ipcmesh.Shared{Key: "plan", Content: next, StoredBy: "alice"})
	restore()
	if err == nil || !strings.Contains(err.Error(), "is committed") {
		t.Fatalf("a share committed before the journal failed: %v; want an error that says it is stored", err)
	}
	if sh, err := s.GetShared("plan"); err != nil || sh.Content != next {
		t.Fatalf("GetShared: %d bytes, %v; want the new value", len(sh.Content), err)
	}
	if entries, err := os.ReadDir(s.sharedDir); err != nil || len(entries) != 2 {
		t.Fatalf("shared/ holds %d files (%v), want the new value's and the old one's", len(entries), err)
	}
}
