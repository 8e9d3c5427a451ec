package store

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh"
)

func rename(t *testing.T, s *Store, old, newName string) {
	t.Helper()
	if _, err := s.Rename(context.Background(), old, sessFor(s, newName), ""); err != nil {
		t.Fatalf("rename %s to %s: %v", old, newName, err)
	}
}

func msgList(msgs []ipcmesh.Message) string {
	var ids []string
	for _, m := range msgs {
		ids = append(ids, m.ID)
	}
	return strings.Join(ids, ",")
}

// A search from a name finds what its instance sent under earlier names,
// but not what a later holder of an old name sent, and a check from it
// sees the same.
func TestSenderAcrossRenames(t *testing.T) {
	s, clk := openTest(t, nil)
	register(t, s, "me", "builder")
	send(t, s, "b1", "builder", "me", "built once")
	clk.Advance(time.Minute)
	rename(t, s, "builder", "tester")
	clk.Advance(time.Minute)
	send(t, s, "t1", "tester", "me", "tested once")
	clk.Advance(time.Minute)
	rename(t, s, "tester", "qa")
	clk.Advance(time.Minute)
	send(t, s, "q1", "qa", "me", "qa once")
	// The forwards end, and someone else takes the name builder.
	clk.Advance(3 * time.Hour)
	register(t, s, "builder")
	send(t, s, "x1", "builder", "me", "another builder")

	for _, c := range []struct{ from, want string }{
		{"qa", "q1,t1,b1"},
		{"tester", "t1,b1"},  // its forward has ended: tester and before
		{"builder", "x1,b1"}, // the name itself, whoever held it
	} {
		msgs, _, err := s.Search(Query{From: c.from, Reader: "me"})
		if err != nil {
			t.Fatal(err)
		}
		if got := msgList(msgs); got != c.want {
			t.Errorf("search from %s = %s, want %s", c.from, got, c.want)
		}
		unread, err := s.UnreadFrom("me", c.from, 0)
		if err != nil {
			t.Fatal(err)
		}
		// Unread is oldest first.
		want := strings.Split(c.want, ",")
		for i, j := 0, len(want)-1; i < j; i, j = i+1, j-1 {
			want[i], want[j] = want[j], want[i]
		}
		if got := msgList(unread); got != strings.Join(want, ",") {
			t.Errorf("unread from %s = %s, want %s", c.from, got, strings.Join(want, ","))
		}
	}
}

// While a forward lasts, the old name means the renamed instance, under
// its new name too.
func TestSenderFollowsForward(t *testing.T) {
	s, clk := openTest(t, nil)
	register(t, s, "me", "reviewer")
	send(t, s, "r1", "reviewer", "me", "first look")
	clk.Advance(time.Minute)
	rename(t, s, "reviewer", "rev2")
	send(t, s, "r2", "rev2", "me", "second look")
	got, err := s.UnreadFrom("me", "reviewer", 0)
	if err != nil {
		t.Fatal(err)
	}
	if msgList(got) != "r1,r2" {
		t.Errorf("unread from reviewer = %s, want r1,r2", msgList(got))
	}
}

// Renaming back and forth ends the walk through earlier names.
func TestSenderRenamesBackAndForth(t *testing.T) {
	s, clk := openTest(t, nil)
	register(t, s, "me", "a")
	for i, pair := range [][2]string{{"a", "b"}, {"b", "a"}, {"a", "b"}, {"b", "c"}} {
		clk.Advance(time.Minute)
		send(t, s, "m"+string(rune('0'+i)), pair[0], "me", "hello")
		rename(t, s, pair[0], pair[1])
	}
	msgs, _, err := s.Search(Query{From: "c", Reader: "me"})
	if err != nil {
		t.Fatal(err)
	}
	if got := msgList(msgs); got != "m3,m2,m1,m0" {
		t.Errorf("search from c = %s, want m3,m2,m1,m0", got)
	}
}

func TestUnreadFromLeavesTheRest(t *testing.T) {
	s, _ := openTest(t, nil)
	register(t, s, "me", "alice", "bob")
	mustCreate(t, s, ipcmesh.Channel{Name: "dev", CreatedBy: "alice", Members: []string{"me"}})
	send(t, s, "a1", "alice", "me", "one")
	send(t, s, "b1", "bob", "me", "two")
	post(t, s, "p1", "bob", "dev", "a post")
	send(t, s, "b2", "bob", "me", "three")
	got, err := s.UnreadFrom("me", "bob", 1)
	if err != nil {
		t.Fatal(err)
	}
	if msgList(got) != "b1" {
		t.Errorf("unread from bob, limit 1 = %s, want b1", msgList(got))
	}
	if got, _ := s.UnreadFrom("me", "bob", 0); msgList(got) != "b1,b2" {
		t.Errorf("unread from bob = %s, want b1,b2 (direct mail only)", msgList(got))
	}
	if _, err := s.UnreadFrom("me", "../bob", 0); ipcmesh.CodeOf(err) != ipcmesh.CodeInvalidName {
		t.Errorf("a bad sender name: %v", err)
	}
	if n := len(unreadIDs(t, s, "me")); n != 4 {
		t.Errorf("%d unread left, want all 4", n)
	}
}

func TestHistoryBetweenTimes(t *testing.T) {
	s, clk := openTest(t, nil)
	register(t, s, "me", "reviewer")
	mustCreate(t, s, ipcmesh.Channel{Name: "dev", CreatedBy: "me"})
	start := clk.Now()
	for i := range 10 {
		send(t, s, "m"+string(rune('0'+i)), "me", "reviewer", "hello")
		post(t, s, "p"+string(rune('0'+i)), "me", "dev", "hello")
		clk.Advance(time.Hour)
	}
	// m3..m6 were sent 3h to 6h after start.
	p := Page{Since: start.Add(3 * time.Hour), Until: start.Add(6 * time.Hour)}
	msgs, more, err := s.Conversation("me", "reviewer", p)
	if err != nil || msgList(msgs) != "m6,m5,m4,m3" || more {
		t.Errorf("conversation 3h-6h = %s, more %v, %v; want m6,m5,m4,m3", msgList(msgs), more, err)
	}
	p.Limit = 3
	msgs, more, _ = s.Conversation("me", "reviewer", p)
	if msgList(msgs) != "m6,m5,m4" || !more {
		t.Errorf("first page of 3 = %s, more %v; want m6,m5,m4 and more", msgList(msgs), more)
	}
	p.Before = msgs[2].Seq
	msgs, more, _ = s.Conversation("me", "reviewer", p)
	if msgList(msgs) != "m3" || more {
		t.Errorf("second page = %s, more %v; want m3 and no more", msgList(msgs), more)
	}
	msgs, _, _ = s.ChannelHistory("dev", Page{Until: start.Add(90 * time.Minute)})
	if msgList(msgs) != "p1,p0" {
		t.Errorf("channel until 1h30 = %s, want p1,p0", msgList(msgs))
	}
	msgs, _, _ = s.ChannelHistory("dev", Page{Since: start.Add(8 * time.Hour)})
	if msgList(msgs) != "p9,p8" {
		t.Errorf("channel since 8h = %s, want p9,p8", msgList(msgs))
	}
	msgs, _, _ = s.Conversation("me", "reviewer", Page{Until: start.Add(-time.Hour)})
	if len(msgs) != 0 {
		t.Errorf("conversation before it began = %s, want none", msgList(msgs))
	}
	// Bounds past what Unix nanoseconds hold (1677 to 2262) keep everything.
	far, old := time.Date(2999, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC)
	msgs, _, _ = s.Conversation("me", "reviewer", Page{Since: old, Until: far})
	if len(msgs) != 10 {
		t.Errorf("conversation from the year 1000 to 2999 = %s, want all 10", msgList(msgs))
	}
}
