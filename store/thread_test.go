package store

import (
	"fmt"
	"testing"

	"github.com/ipcmesh/ipcmesh"
)

// A thread is read a page at a time from any seq on, and its newest reply
// is found without reading it: a page of a long thread costs its page.
func TestThreadPages(t *testing.T) {
	s, _ := openTest(t, nil)
	register(t, s, "alice", "bob")
	root := send(t, s, "root", "alice", "bob", "review my patch?").Message
	var replies []ipcmesh.Message
	for i := range 30 {
		d := appendOne(t, s, Draft{ID: fmt.Sprintf("r%02d", i), From: "bob", To: "alice", ReplyTo: "root", Content: "a point"})
		replies = append(replies, d.Message)
	}
	send(t, s, "unrelated", "bob", "alice", "lunch?")

	for _, id := range []string{"root", "r00", "r17"} {
		msgs, err := s.Thread(id, 0, 5)
		if err != nil || msgIDs(msgs) != "root,r00,r01,r02,r03" {
			t.Errorf("Thread(%s, 0, 5) = %s, %v", id, msgIDs(msgs), err)
		}
	}
	if msgs, err := s.Thread("r03", root.Seq, 3); err != nil || msgIDs(msgs) != "r00,r01,r02" {
		t.Errorf("Thread after the first message = %s, %v", msgIDs(msgs), err)
	}
	if msgs, err := s.Thread("root", replies[27].Seq, 5); err != nil || msgIDs(msgs) != "r28,r29" {
		t.Errorf("Thread at its end = %s, %v", msgIDs(msgs), err)
	}
	if msgs, err := s.Thread("root", replies[29].Seq, 5); err != nil || len(msgs) != 0 {
		t.Errorf("Thread past its end = %s, %v", msgIDs(msgs), err)
	}
	if msgs, err := s.Thread("root", 0, 0); err != nil || len(msgs) != 31 {
		t.Errorf("Thread with limit 0 (MaxHistoryLimit) = %d messages, %v; want all 31", len(msgs), err)
	}
	_, err := s.Thread("nope", 0, 5)
	wantCode(t, err, ipcmesh.CodeNotFound)

	if msgs, err := s.ThreadAfter("root", replies[9].Seq, 4); err != nil || msgIDs(msgs) != "r10,r11,r12,r13" {
		t.Errorf("ThreadAfter(r09, 4) = %s, %v", msgIDs(msgs), err)
	}
	if msgs, err := s.ThreadAfter("root", 0, 1); err != nil || msgIDs(msgs) != "r00" {
		t.Errorf("ThreadAfter(0, 1) = %s, %v", msgIDs(msgs), err)
	}

	for thread, want := range map[string]uint64{"root": replies[29].Seq, "r05": 0, "unrelated": 0, "nope": 0} {
		if last, err := s.ThreadLast(thread); err != nil || last != want {
			t.Errorf("ThreadLast(%s) = %d, %v; want %d", thread, last, err, want)
		}
	}
}
