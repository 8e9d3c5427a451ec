package store

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh"
	bolt "go.etcd.io/bbolt"
)

// An instance gone for as long as read history is kept, with nothing
// left that ties it to the mesh, is forgotten: list and the suggestions
// no longer name it. One with unread mail, a session, an access key, a
// channel or recent presence stays. A name forgotten registers anew, and
// mail sent to it meanwhile waits as for a name never registered.
func TestSweepForgetsInstancesLongGone(t *testing.T) {
	s, clk := openTest(t, nil)
	ctx := context.Background()
	register(t, s, "job-1", "job-2", "unread", "keyed", "revoked", "member", "recent", "sender")
	send(t, s, "m1", "sender", "unread", "still unread")
	send(t, s, "m2", "job-2", "sender", "read, and history")
	for _, k := range []ipcmesh.AccessKey{
		{ID: "k1", Name: "keyed", Created: s.now()},
		{ID: "k2", Name: "revoked", Created: s.now(), Revoked: s.now()},
	} {
		if err := s.PutAccessKey(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.CreateChannel(ctx, ipcmesh.Channel{Name: "ops", CreatedBy: "member", Members: []string{"member"}}); err != nil {
		t.Fatal(err)
	}

	clk.Advance(29 * 24 * time.Hour)
	if err := s.Touch(ctx, map[string]time.Time{"recent": s.now(), "sender": s.now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Ack(ctx, "sender", []string{"m2"}); err != nil {
		t.Fatal(err)
	}
	if st, err := s.Sweep(ctx); err != nil || st.Instances != 0 {
		t.Fatalf("Sweep 29 days on = %+v, %v; want no instance forgotten before 30 days", st, err)
	}
	clk.Advance(24*time.Hour + time.Minute)
	st, err := s.Sweep(ctx)
	if err != nil || st.Instances != 3 {
		t.Fatalf("Sweep 30 days on = %+v, %v; want 3 instances forgotten", st, err)
	}
	names, err := s.Names()
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"keyed", "member", "recent", "sender", "unread"}; !slices.Equal(names, want) {
		t.Fatalf("instances after the sweep: %v, want %v", names, want)
	}
	if st, _ := s.Stats(); st.Instances != len(names) {
		t.Fatalf("Stats counts %d instances, the store holds %d", st.Instances, len(names))
	}
	// What job-2 sent stays history.
	if msgs, _, err := s.Conversation("sender", "job-2", Page{}); err != nil || len(msgs) != 1 {
		t.Fatalf("sender's history with job-2 after job-2 was forgotten: %+v, %v", msgs, err)
	}

	// Mail to a forgotten name is queued as for a name never registered,
	// and the name registers anew.
	send(t, s, "m3", "sender", "job-1", "are you there?")
	clk.Advance(7*24*time.Hour + time.Minute)
	if st, _ := s.Sweep(ctx); st.Queued != 1 {
		t.Fatalf("Sweep a week after mail to a forgotten name = %+v; want it expired as queued", st)
	}
	register(t, s, "job-1")
	insts, err := s.Instances()
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(insts, func(in ipcmesh.Instance) bool { return in.Name == "job-1" })
	if i < 0 || !insts[i].Registered.Equal(s.now()) {
		t.Fatalf("job-1 registered again: %+v", insts)
	}
}

// A record the sweep cannot read keeps the instances as they are, and
// says so, but the rest of the retention still does its work: a damaged
// access key, which might tie any name, leaves every one.
func TestSweepForgetsNothingPastADamagedRecord(t *testing.T) {
	s, clk := openTest(t, nil)
	ctx := context.Background()
	register(t, s, "job-1", "bob")
	send(t, s, "m1", "job-1", "bob", "read long ago")
	if _, err := s.Ack(ctx, "bob", []string{"m1"}); err != nil {
		t.Fatal(err)
	}
	if err := s.db.Update(func(tx *bolt.Tx) error {
		return tablesOf(tx).accessKeys().Put([]byte("k1"), []byte("{not json"))
	}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(31 * 24 * time.Hour)
	st, err := s.Sweep(ctx)
	if !errors.Is(err, ErrInstancesKept) || !strings.Contains(err.Error(), "access key k1") {
		t.Fatalf("Sweep past a damaged access key: %v; want it said", err)
	}
	if st.History != 1 || st.Instances != 0 {
		t.Fatalf("Sweep past a damaged access key = %+v; want the read message swept and no instance forgotten", st)
	}
	if names, _ := s.Names(); !slices.Equal(names, []string{"bob", "job-1"}) {
		t.Fatalf("instances after the sweep: %v; want both kept", names)
	}
}
