package store

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh"
	bolt "go.etcd.io/bbolt"
)

func TestAppendUnreadAckOrder(t *testing.T) {
	s, clk := openTest(t, nil)
	register(t, s, "alice", "bob")
	var seqs []uint64
	for _, id := range ids("m", 5) {
		d := send(t, s, id, "alice", "bob", "body "+id)
		if d.Duplicate || d.Forwarded || d.Queued {
			t.Fatalf("%s: unexpected flags %+v", id, d)
		}
		m := d.Message
		if m.From != "alice" || m.To != "bob" || m.Content != "body "+id || m.Size != len(m.Content) || !m.Time.Equal(clk.Now()) {
			t.Fatalf("stored message %+v", m)
		}
		seqs = append(seqs, m.Seq)
		clk.Advance(time.Second)
	}
	if !slices.IsSorted(seqs) || seqs[0] == seqs[4] {
		t.Fatalf("seqs not increasing: %v", seqs)
	}

	msgs, err := s.Unread("bob", 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || msgs[0].ID != "m0" || msgs[1].ID != "m1" {
		t.Fatalf("Unread(limit 2) = %v, want m0 m1", msgs)
	}
	if got := unreadIDs(t, s, "alice"); len(got) != 0 {
		t.Fatalf("alice has unread %v", got)
	}

	n, err := s.Ack(context.Background(), "bob", []string{"m1", "m3", "nope"})
	if err != nil || n != 2 {
		t.Fatalf("Ack = %d, %v; want 2", n, err)
	}
	// Acking again changes nothing: a retried ack is harmless.
	n, err = s.Ack(context.Background(), "bob", []string{"m1", "m3"})
	if err != nil || n != 0 {
		t.Fatalf("second Ack = %d, %v; want 0", n, err)
	}
	// Only the recipient can ack.
	if n, _ := s.Ack(context.Background(), "alice", []string{"m0"}); n != 0 {
		t.Fatalf("alice acked bob's message")
	}
	if got := strings.Join(unreadIDs(t, s, "bob"), ","); got != "m0,m2,m4" {
		t.Fatalf("unread after ack = %s, want m0,m2,m4", got)
	}
	if c, _ := s.UnreadCount("bob"); c != 3 {
		t.Fatalf("UnreadCount = %d, want 3", c)
	}
	if st, _ := s.Stats(); st != (Stats{Instances: 2, Messages: 5, Unread: 3}) {
		t.Fatalf("Stats = %+v", st)
	}
}

func TestUnreadReadsOnlyTheInbox(t *testing.T) {
	s, _ := openTest(t, nil)
	register(t, s, "bob")
	all := ids("m", 300)
	var drafts []Draft
	for _, id := range all {
		drafts = append(drafts, Draft{ID: id, From: "alice", To: "bob", Content: id})
	}
	if _, err := s.Append(context.Background(), drafts); err != nil {
		t.Fatal(err)
	}
	keep := []string{"m7", "m150", "m299"}
	var read []string
	for _, id := range all {
		if !slices.Contains(keep, id) {
			read = append(read, id)
		}
	}
	if n, err := s.Ack(context.Background(), "bob", read); err != nil || n != len(read) {
		t.Fatalf("Ack = %d, %v", n, err)
	}
	if got := unreadIDs(t, s, "bob"); !slices.Equal(got, keep) {
		t.Fatalf("unread = %v, want %v", got, keep)
	}
	// The inbox bucket holds only the unread entries: reading it is
	// O(unread) whatever the history holds.
	inboxLen := 0
	s.view(func(tx *bolt.Tx) error {
		inboxLen = tablesOf(tx).inboxes().Bucket([]byte("bob")).Stats().KeyN
		return nil
	})
	if inboxLen != len(keep) {
		t.Fatalf("inbox bucket holds %d keys, want %d", inboxLen, len(keep))
	}
	// Read mail stays fetchable.
	if _, body, err := s.Get("bob", "m8"); err != nil || body != "m8" {
		t.Fatalf("Get acked message = %q, %v", body, err)
	}
}

func TestDedupAndConflict(t *testing.T) {
	s, clk := openTest(t, nil)
	register(t, s, "bob")
	first := send(t, s, "same", "alice", "bob", "original")
	clk.Advance(time.Minute)

	ds, err := s.Append(context.Background(), []Draft{
		{ID: "same", From: "alice", To: "bob", Content: "retry"},
		{ID: "same", From: "mallory", To: "bob", Content: "hijack"},
		{ID: "fresh", From: "alice", To: "bob", Content: "new"},
		{ID: "fresh", From: "alice", To: "bob", Content: "new"}, // retried in the same call
	})
	if err != nil {
		t.Fatal(err)
	}
	if !ds[0].Duplicate || ds[0].Message != first.Message {
		t.Errorf("retry: %+v, want duplicate of %+v", ds[0], first.Message)
	}
	wantCode(t, ds[1].Err, ipcmesh.CodeConflict)
	if strings.Contains(ds[1].Err.Error(), "alice") {
		t.Errorf("conflict error leaks the other sender: %v", ds[1].Err)
	}
	if ds[2].Err != nil || ds[2].Duplicate {
		t.Errorf("fresh: %+v", ds[2])
	}
	if !ds[3].Duplicate || ds[3].Message.Seq != ds[2].Message.Seq {
		t.Errorf("second fresh in one call: %+v", ds[3])
	}
	if got := strings.Join(unreadIDs(t, s, "bob"), ","); got != "same,fresh" {
		t.Fatalf("unread = %s, want same,fresh", got)
	}
	// Dedup holds after the message is read, as long as it is kept.
	s.Ack(context.Background(), "bob", []string{"same"})
	ds, _ = s.Append(context.Background(), []Draft{{ID: "same", From: "alice", To: "bob", Content: "late retry"}})
	if !ds[0].Duplicate {
		t.Errorf("retry after ack was stored again: %+v", ds[0])
	}
}

func TestOneRefusedDraftDoesNotFailTheRest(t *testing.T) {
	s, _ := openTest(t, func(o *Options) { o.MaxMessageBytes = 100; o.LargeMessageBytes = 50 })
	register(t, s, "bob")
	ds, err := s.Append(context.Background(), []Draft{
		{ID: "a", From: "alice", To: "bob", Content: "fine"},
		{ID: "b", From: "alice", To: "bob", Content: strings.Repeat("x", 101)},
		{ID: "c", From: "alice", To: "../../x", Content: "hostile"},
		{ID: "", From: "alice", To: "bob", Content: "no id"},
		{ID: "d", From: "alice", To: "bob", Content: strings.Repeat("y", 80)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if ds[0].Err != nil || ds[4].Err != nil || !ds[4].Message.Large {
		t.Fatalf("good drafts: %+v / %+v", ds[0], ds[4])
	}
	wantCode(t, ds[1].Err, ipcmesh.CodeTooLarge)
	if msg := ds[1].Err.Error(); !strings.Contains(msg, "101 bytes") || !strings.Contains(msg, "100 bytes") {
		t.Errorf("too_large should say the size and the limit: %q", msg)
	}
	wantCode(t, ds[2].Err, ipcmesh.CodeInvalidName)
	wantCode(t, ds[3].Err, ipcmesh.CodeBadRequest)
	if got := strings.Join(unreadIDs(t, s, "bob"), ","); got != "a,d" {
		t.Fatalf("unread = %s, want a,d", got)
	}
}

func TestInvalidNamesAreRefused(t *testing.T) {
	s, _ := openTest(t, nil)
	for _, d := range []Draft{
		{ID: "1", From: "../../x", To: "bob", Content: "x"},
		{ID: "2", From: "alice", To: "bob/../../etc", Content: "x"},
		{ID: "3", From: "alice", To: "", Content: "x"},
		{ID: "4", From: "alice", To: strings.Repeat("b", 33), Content: "x"},
	} {
		ds, err := s.Append(context.Background(), []Draft{d})
		if err != nil {
			t.Fatal(err)
		}
		wantCode(t, ds[0].Err, ipcmesh.CodeInvalidName)
	}
	_, err := s.Unread("a b", 1)
	wantCode(t, err, ipcmesh.CodeInvalidName)
	_, err = s.Ack(context.Background(), "a/b", []string{"1"})
	wantCode(t, err, ipcmesh.CodeInvalidName)
	err = s.PutSession(context.Background(), Session{Name: "..", ID: "x"})
	wantCode(t, err, ipcmesh.CodeInvalidName)
	if st, _ := s.Stats(); st != (Stats{}) {
		t.Fatalf("refused writes left %+v", st)
	}
}

func TestInboxCap(t *testing.T) {
	s, _ := openTest(t, func(o *Options) { o.InboxCap = 3 })
	register(t, s, "bob")
	for _, id := range ids("m", 3) {
		send(t, s, id, "alice", "bob", id)
	}
	ds, err := s.Append(context.Background(), []Draft{
		{ID: "over", From: "alice", To: "bob", Content: "one too many"},
		{ID: "other", From: "alice", To: "carol", Content: "carol's inbox is not full"},
	})
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, ds[0].Err, ipcmesh.CodeInboxFull)
	if msg := ds[0].Err.Error(); !strings.Contains(msg, "bob") || !strings.Contains(msg, "3 messages") || !strings.Contains(msg, "check") {
		t.Errorf("inbox_full should say whose inbox, how many wait and to check: %q", msg)
	}
	if ds[1].Err != nil {
		t.Errorf("other inbox refused: %v", ds[1].Err)
	}
	s.Ack(context.Background(), "bob", []string{"m0"})
	send(t, s, "over", "alice", "bob", "now it fits")
}

func TestQueuedForUnregisteredName(t *testing.T) {
	s, _ := openTest(t, nil)
	d := send(t, s, "q1", "alice", "later", "waiting for you")
	if !d.Queued {
		t.Fatalf("mail to a never-registered name not marked queued: %+v", d)
	}
	register(t, s, "later")
	if d := send(t, s, "q2", "alice", "later", "now registered"); d.Queued {
		t.Fatalf("mail to a registered name marked queued")
	}
	if got := strings.Join(unreadIDs(t, s, "later"), ","); got != "q1,q2" {
		t.Fatalf("unread = %s", got)
	}
}

func TestGetOnlyForSenderAndRecipient(t *testing.T) {
	s, _ := openTest(t, nil)
	register(t, s, "alice", "bob", "eve")
	send(t, s, "m", "alice", "bob", "private")
	for _, name := range []string{"alice", "bob"} {
		m, body, err := s.Get(name, "m")
		if err != nil || body != "private" || m.ID != "m" {
			t.Fatalf("Get(%s) = %+v %q %v", name, m, body, err)
		}
	}
	_, _, errEve := s.Get("eve", "m")
	wantCode(t, errEve, ipcmesh.CodeNotFound)
	_, _, errNone := s.Get("eve", "missing")
	wantCode(t, errNone, ipcmesh.CodeNotFound)
	if strings.Replace(errEve.Error(), `"m"`, `"missing"`, 1) != errNone.Error() {
		t.Errorf("not yours and not there must read the same: %q vs %q", errEve, errNone)
	}
	s.Ack(context.Background(), "bob", []string{"m"})
	if _, body, err := s.Get("bob", "m"); err != nil || body != "private" {
		t.Fatalf("Get after ack = %q, %v", body, err)
	}
}

func TestAppendCanceledContext(t *testing.T) {
	s, _ := openTest(t, func(o *Options) { o.LargeMessageBytes = 10 })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.Append(ctx, []Draft{{ID: "x", From: "alice", To: "bob", Content: strings.Repeat("z", 100)}})
	if err == nil {
		t.Fatal("Append with a canceled context succeeded")
	}
	if st, _ := s.Stats(); st.Messages != 0 {
		t.Fatalf("canceled Append stored %d messages", st.Messages)
	}
	if left := spillFiles(t, s); len(left) != 0 {
		t.Fatalf("canceled Append left spill files %v", left)
	}
}
