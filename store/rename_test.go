package store

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh"
	bolt "go.etcd.io/bbolt"
)

func sessFor(s *Store, name string) Session {
	return Session{Name: name, ID: "sess-" + name, Expires: s.now().Add(24 * time.Hour)}
}

func TestRenameMovesUnreadMail(t *testing.T) {
	s, clk := openTest(t, nil)
	register(t, s, "alice", "old")
	for _, id := range ids("m", 4) {
		send(t, s, id, "alice", "old", id)
	}
	s.Ack(context.Background(), "old", []string{"m1"})
	before, _ := s.Unread("old", 0)
	clk.Advance(time.Minute)

	res, err := s.Rename(context.Background(), "old", sessFor(s, "new"), "req-1")
	if err != nil {
		t.Fatal(err)
	}
	want := RenameResult{
		Old: "old", New: "new", Moved: 3, SessionID: "sess-new", Expires: sessFor(s, "new").Expires,
		OldSessionID: "sess-old", OldSessionKept: true,
	}
	if res != want {
		t.Fatalf("Rename = %+v, want %+v", res, want)
	}
	after, _ := s.Unread("new", 0)
	if len(after) != 3 {
		t.Fatalf("new has %d unread, want 3", len(after))
	}
	for i, m := range after {
		if m.ID != before[i].ID || m.Seq != before[i].Seq || m.To != "new" || m.SentTo != "old" {
			t.Errorf("moved message %d = %+v", i, m)
		}
	}
	if got := unreadIDs(t, s, "old"); len(got) != 0 {
		t.Errorf("old still has unread %v", got)
	}
	if c, _ := s.UnreadCount("new"); c != 3 {
		t.Errorf("UnreadCount(new) = %d", c)
	}
	names, _ := s.Names()
	if strings.Join(names, ",") != "alice,new" {
		t.Errorf("Names = %v", names)
	}
	if _, ok, _ := s.Session("old"); ok {
		t.Error("old session survived the rename")
	}
	if sess, ok, _ := s.Session("new"); !ok || sess.ID != "sess-new" {
		t.Errorf("Session(new) = %+v %v", sess, ok)
	}
	insts, _ := s.Instances()
	if len(insts) != 2 || insts[1].Name != "new" || insts[1].Unread != 3 || !insts[1].LastSeen.Equal(clk.Now()) {
		t.Errorf("Instances = %+v", insts)
	}
	if st, _ := s.Stats(); st != (Stats{Instances: 2, Messages: 4, Unread: 3}) {
		t.Errorf("Stats = %+v", st)
	}

	// Mail to the old name now reaches the new one.
	d := send(t, s, "late", "alice", "old", "hello?")
	if !d.Forwarded || d.Message.To != "new" || d.Message.SentTo != "old" || d.Queued {
		t.Fatalf("mail to old name: %+v", d)
	}
	// The new name may read and ack mail that was sent to the old one.
	if n, _ := s.Ack(context.Background(), "new", []string{"m0"}); n != 1 {
		t.Error("new could not ack moved mail")
	}
	if _, _, err := s.Get("new", "m2"); err != nil {
		t.Errorf("Get moved mail: %v", err)
	}
}

func TestRenameChainAndExpiry(t *testing.T) {
	s, clk := openTest(t, nil)
	register(t, s, "a")
	if _, err := s.Rename(context.Background(), "a", sessFor(s, "b"), ""); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Hour)
	if _, err := s.Rename(context.Background(), "b", sessFor(s, "c"), ""); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"a": "c", "b": "c", "c": "c", "z": "z"} {
		if got, err := s.Resolve(name); err != nil || got != want {
			t.Errorf("Resolve(%s) = %q, %v; want %q", name, got, err, want)
		}
	}
	if d := send(t, s, "x", "z", "a", "hi"); d.Message.To != "c" || d.Message.SentTo != "a" {
		t.Errorf("a->b->c delivery: %+v", d.Message)
	}

	// a's forward was made an hour before b's: it ends first.
	clk.Advance(time.Hour)
	if got, _ := s.Resolve("a"); got != "a" {
		t.Errorf("Resolve(a) after its forward expired = %q", got)
	}
	if got, _ := s.Resolve("b"); got != "c" {
		t.Errorf("Resolve(b) = %q before its forward expired", got)
	}
	if d := send(t, s, "y", "z", "a", "hi"); d.Forwarded || !d.Queued || d.Message.To != "a" {
		t.Errorf("mail to an expired forward: %+v", d)
	}
	st, err := s.Sweep(context.Background())
	if err != nil || st.Forwards != 1 {
		t.Fatalf("Sweep = %+v, %v; want 1 forward", st, err)
	}
	clk.Advance(time.Hour)
	if st, _ := s.Sweep(context.Background()); st.Forwards != 1 {
		t.Fatalf("second Sweep = %+v; want 1 forward", st)
	}
}

func TestRegisteringANameEndsItsForward(t *testing.T) {
	s, _ := openTest(t, nil)
	register(t, s, "a")
	if _, err := s.Rename(context.Background(), "a", sessFor(s, "b"), ""); err != nil {
		t.Fatal(err)
	}
	register(t, s, "a")
	if got, _ := s.Resolve("a"); got != "a" {
		t.Fatalf("Resolve(a) after a registered anew = %q", got)
	}
	if d := send(t, s, "m", "z", "a", "for the new a"); d.Forwarded || d.Message.To != "a" {
		t.Fatalf("delivery: %+v", d)
	}
	// Its expiry entry went with it: Sweep finds nothing to do.
	if st, _ := s.Sweep(context.Background()); st.Forwards != 0 {
		t.Fatalf("Sweep = %+v", st)
	}
}

func TestRenameIntoNameWithQueuedMail(t *testing.T) {
	s, _ := openTest(t, nil)
	register(t, s, "old")
	send(t, s, "q", "alice", "new", "queued for new")
	send(t, s, "o", "alice", "old", "for old")
	res, err := s.Rename(context.Background(), "old", sessFor(s, "new"), "")
	if err != nil || res.Moved != 1 {
		t.Fatalf("Rename = %+v, %v", res, err)
	}
	if got := strings.Join(unreadIDs(t, s, "new"), ","); got != "q,o" {
		t.Fatalf("merged inbox = %s, want q,o", got)
	}
	if c, _ := s.UnreadCount("new"); c != 2 {
		t.Fatalf("UnreadCount(new) = %d", c)
	}
}

func TestRenameBack(t *testing.T) {
	s, _ := openTest(t, nil)
	register(t, s, "a")
	if _, err := s.Rename(context.Background(), "a", sessFor(s, "b"), ""); err != nil {
		t.Fatal(err)
	}
	// a forwards to b; renaming b back to a ends that forward rather than
	// making a loop, and b now forwards to a.
	if _, err := s.Rename(context.Background(), "b", sessFor(s, "a"), ""); err != nil {
		t.Fatalf("rename back: %v", err)
	}
	for _, name := range []string{"a", "b"} {
		if got, err := s.Resolve(name); err != nil || got != "a" {
			t.Fatalf("Resolve(%s) = %q, %v; want a", name, got, err)
		}
	}
	if _, ok, _ := s.Session("b"); ok {
		t.Fatal("b still has a session after renaming back")
	}
}

func TestResolveRefusesCycles(t *testing.T) {
	s, clk := openTest(t, nil)
	// Renames cannot make a cycle; a damaged database still must not hang
	// or loop the broker.
	err := s.db.Update(func(tx *bolt.Tx) error {
		t := tablesOf(tx)
		until := clk.Now().Add(time.Hour)
		for from, to := range map[string]string{"x": "y", "y": "z", "z": "x"} {
			if err := putForward(t, from, forward{To: to, Until: until}); err != nil {
				return err
			}
		}
		for i := range 20 {
			if err := putForward(t, ids("h", 21)[i], forward{To: ids("h", 21)[i+1], Until: until}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Resolve("x")
	wantCode(t, err, ipcmesh.CodeRenameLoop)
	if !strings.Contains(err.Error(), "x -> y -> z -> x") {
		t.Errorf("loop error should show the loop: %v", err)
	}
	_, err = s.Resolve("h0")
	wantCode(t, err, ipcmesh.CodeRenameLoop)
	if got, err := s.Resolve("h4"); err != nil || got != "h20" {
		t.Errorf("Resolve(h4) = %q, %v; 16 hops are allowed", got, err)
	}
	ds, err := s.Append(context.Background(), []Draft{
		{ID: "1", From: "a", To: "y", Content: "lost?"},
		{ID: "2", From: "a", To: "ok", Content: "fine"},
	})
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, ds[0].Err, ipcmesh.CodeRenameLoop)
	if ds[1].Err != nil {
		t.Fatal(ds[1].Err)
	}
}

func TestRenameRequestDedup(t *testing.T) {
	s, clk := openTest(t, nil)
	register(t, s, "old")
	send(t, s, "m", "alice", "old", "x")
	first, err := s.Rename(context.Background(), "old", sessFor(s, "new"), "req")
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Hour)
	// The retry comes with a freshly minted session; the stored one wins.
	retry := sessFor(s, "new")
	retry.ID = "other-session"
	again, err := s.Rename(context.Background(), "old", retry, "req")
	if err != nil || again != first {
		t.Fatalf("retried Rename = %+v, %v; want %+v", again, err, first)
	}
	if sess, _, _ := s.Session("new"); sess.ID != "sess-new" {
		t.Fatalf("retry wrote a session: %+v", sess)
	}
	if done, ok, err := s.RenameDone("req"); !ok || err != nil || done != first {
		t.Fatalf("RenameDone = %+v %v %v", done, ok, err)
	}
	if _, ok, _ := s.RenameDone("other"); ok {
		t.Fatal("RenameDone of an unknown id")
	}
	_, err = s.Rename(context.Background(), "new", sessFor(s, "newer"), "req")
	wantCode(t, err, ipcmesh.CodeConflict)

	clk.Advance(24 * time.Hour)
	if _, ok, _ := s.RenameDone("req"); ok {
		t.Fatal("request id remembered past DedupRetention")
	}
	// Expired, the id is gone, and old no longer exists.
	_, err = s.Rename(context.Background(), "old", sessFor(s, "new"), "req")
	wantCode(t, err, ipcmesh.CodeNotFound)
	if st, err := s.Sweep(context.Background()); err != nil || st.Dedup != 1 {
		t.Fatalf("Sweep = %+v, %v; want 1 dedup", st, err)
	}
}

// A rename request recorded before renames kept the old session's id
// reads as such, so the broker can tell it from a rename of a name that
// had no session; it is forgotten as every record is.
func TestRenameDoneOfAnOlderRecord(t *testing.T) {
	s, clk := openTest(t, nil)
	until := clk.Now().Add(time.Hour)
	older := fmt.Sprintf(`{"result":{"Old":"old","New":"new","Moved":2,"SessionID":"sess-new","Expires":%q},"until":%q}`,
		until.Format(time.RFC3339Nano), until.Format(time.RFC3339Nano))
	err := s.db.Update(func(tx *bolt.Tx) error {
		tb := tablesOf(tx)
		if err := tb.renames().Put([]byte("req"), []byte(older)); err != nil {
			return err
		}
		return tb.renameExpiry().Put(timeKey(until, []byte("req")), nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	want := RenameResult{Old: "old", New: "new", Moved: 2, SessionID: "sess-new", Expires: until}
	if got, ok, err := s.RenameDone("req"); !ok || err != nil || got != want {
		t.Fatalf("RenameDone = %+v %v %v, want %+v", got, ok, err, want)
	}
	clk.Advance(time.Hour)
	if _, ok, _ := s.RenameDone("req"); ok {
		t.Fatal("an older record was remembered past its time")
	}
	if st, err := s.Sweep(context.Background()); err != nil || st.Dedup != 1 {
		t.Fatalf("Sweep = %+v, %v; want 1 dedup", st, err)
	}
}

// A rename of a name whose session has ended (in a cluster, a revoke may
// reach the log just before the rename) keeps an empty id: the record
// says so, and no token is of that session.
func TestRenameOfANameWithoutASession(t *testing.T) {
	s, _ := openTest(t, nil)
	register(t, s, "old")
	if err := s.RevokeSession(context.Background(), "old"); err != nil {
		t.Fatal(err)
	}
	res, err := s.Rename(context.Background(), "old", sessFor(s, "new"), "req")
	if err != nil {
		t.Fatal(err)
	}
	if res.OldSessionID != "" || !res.OldSessionKept {
		t.Fatalf("Rename = %+v, want no old session id, kept", res)
	}
}

func TestRenameRefusals(t *testing.T) {
	s, _ := openTest(t, nil)
	register(t, s, "a")
	_, err := s.Rename(context.Background(), "ghost", sessFor(s, "b"), "")
	wantCode(t, err, ipcmesh.CodeNotFound)
	_, err = s.Rename(context.Background(), "a", sessFor(s, "../b"), "")
	wantCode(t, err, ipcmesh.CodeInvalidName)
	_, err = s.Rename(context.Background(), "a", sessFor(s, "a"), "")
	wantCode(t, err, ipcmesh.CodeBadRequest)
}

func TestSessions(t *testing.T) {
	s, clk := openTest(t, nil)
	register(t, s, "a", "b")
	reg := clk.Now()
	clk.Advance(time.Hour)
	short := Session{Name: "c", ID: "c1", Expires: clk.Now().Add(time.Minute), Secret: "5ec7e7a9"}
	if err := s.PutSession(context.Background(), short); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeSession(context.Background(), "b"); err != nil {
		t.Fatal(err)
	}
	if names, _ := s.SessionNames(); strings.Join(names, ",") != "a,c" {
		t.Fatalf("SessionNames = %v", names)
	}
	clk.Advance(2 * time.Minute)
	if names, _ := s.SessionNames(); strings.Join(names, ",") != "a" {
		t.Fatalf("SessionNames after c expired = %v", names)
	}
	if sess, ok, _ := s.Session("c"); !ok || sess != short {
		t.Fatalf("expired Session(c) = %+v %v, want it returned", sess, ok)
	}
	seen := clk.Now()
	if err := s.Touch(context.Background(), map[string]time.Time{"a": seen, "ghost": seen}); err != nil {
		t.Fatal(err)
	}
	insts, err := s.Instances()
	if err != nil || len(insts) != 3 {
		t.Fatalf("Instances = %+v %v (revoking keeps the record; unknown names are not created)", insts, err)
	}
	a := insts[0]
	if a.Name != "a" || !a.Registered.Equal(reg) || !a.LastSeen.Equal(seen) || a.Online {
		t.Fatalf("instance a = %+v", a)
	}
	// Registering again keeps the first registration time.
	register(t, s, "a")
	insts, _ = s.Instances()
	if !insts[0].Registered.Equal(reg) {
		t.Fatalf("re-registering moved Registered to %v", insts[0].Registered)
	}
	if st, _ := s.Stats(); st.Instances != 3 {
		t.Fatalf("Stats.Instances = %d", st.Instances)
	}
}
