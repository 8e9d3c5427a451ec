package store

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh"
)

func TestSweepHistory(t *testing.T) {
	s, clk := openTest(t, func(o *Options) { o.LargeMessageBytes = 16 })
	register(t, s, "bob")
	big := send(t, s, "big", "alice", "bob", strings.Repeat("large body ", 10))
	send(t, s, "small", "alice", "bob", "small")
	send(t, s, "unread", "alice", "bob", "never read")
	s.Ack(context.Background(), "bob", []string{"big"})
	clk.Advance(10 * 24 * time.Hour)
	s.Ack(context.Background(), "bob", []string{"small"})

	// Just past 30 days after the first ack: only big is due.
	clk.Advance(20*24*time.Hour + time.Minute)
	st, err := s.Sweep(context.Background())
	if err != nil || st != (SweepStats{History: 1}) {
		t.Fatalf("Sweep = %+v, %v; want 1 history", st, err)
	}
	_, _, err = s.Get("bob", "big")
	wantCode(t, err, ipcmesh.CodeNotFound)
	if _, err := os.Stat(big.Message.Path); !os.IsNotExist(err) {
		t.Fatalf("spill file of a swept message: %v", err)
	}
	if _, _, err := s.Get("bob", "small"); err != nil {
		t.Fatalf("small swept too early: %v", err)
	}
	// The id is free again once its message is gone.
	if d := send(t, s, "big", "alice", "bob", "reused"); d.Duplicate {
		t.Fatal("id of a swept message still deduplicated")
	}

	clk.Advance(10 * 24 * time.Hour)
	if st, _ := s.Sweep(context.Background()); st.History != 1 {
		t.Fatalf("second Sweep = %+v", st)
	}
	// Unread mail to a registered name never expires.
	if got := strings.Join(unreadIDs(t, s, "bob"), ","); got != "unread,big" {
		t.Fatalf("unread = %s", got)
	}
	if st, _ := s.Stats(); st != (Stats{Instances: 1, Messages: 2, Unread: 2}) {
		t.Fatalf("Stats = %+v", st)
	}
}

func TestSweepQueued(t *testing.T) {
	s, clk := openTest(t, func(o *Options) { o.LargeMessageBytes = 16 })
	lost := send(t, s, "lost", "alice", "nobody", strings.Repeat("large body ", 10))
	send(t, s, "kept", "alice", "latecomer", "hi")
	clk.Advance(24 * time.Hour)
	send(t, s, "young", "alice", "nobody", "too young to expire")
	register(t, s, "latecomer")

	clk.Advance(6*24*time.Hour + time.Minute)
	st, err := s.Sweep(context.Background())
	if err != nil || st != (SweepStats{Queued: 1}) {
		t.Fatalf("Sweep = %+v, %v; want 1 queued", st, err)
	}
	if got := strings.Join(unreadIDs(t, s, "nobody"), ","); got != "young" {
		t.Fatalf("nobody's unread = %s, want young", got)
	}
	if _, err := os.Stat(lost.Message.Path); !os.IsNotExist(err) {
		t.Fatalf("spill file of expired queued mail: %v", err)
	}
	// Mail for a name that registered in time is ordinary unread mail.
	if got := strings.Join(unreadIDs(t, s, "latecomer"), ","); got != "kept" {
		t.Fatalf("latecomer's unread = %s", got)
	}
	clk.Advance(365 * 24 * time.Hour)
	if st, _ := s.Sweep(context.Background()); st != (SweepStats{Queued: 1}) {
		t.Fatalf("late Sweep = %+v, want only young", st)
	}
	if got := unreadIDs(t, s, "latecomer"); len(got) != 1 {
		t.Fatal("registered mail expired")
	}
	if c, _ := s.UnreadCount("nobody"); c != 0 {
		t.Fatalf("UnreadCount(nobody) = %d", c)
	}
	if st, _ := s.Stats(); st != (Stats{Instances: 1, Messages: 1, Unread: 1}) {
		t.Fatalf("Stats = %+v", st)
	}
}
