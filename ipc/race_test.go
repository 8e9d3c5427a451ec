package ipc_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/ipc"
)

// Of many connections claiming one free name at once, exactly one gets it.
func TestRegisterRace(t *testing.T) {
	m := startMesh(t, nil)
	const n = 20
	peers := make([]*peer, n)
	for i := range peers {
		peers[i] = m.dial(t)
	}
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		winners int
	)
	for _, p := range peers {
		wg.Go(func() {
			err := p.call(ipc.OpRegister, ipc.RegisterRequest{Name: "contested"}, nil)
			mu.Lock()
			defer mu.Unlock()
			switch ipcmesh.CodeOf(err) {
			case "":
				if err != nil {
					t.Errorf("register: %v", err)
				}
				winners++
			case ipcmesh.CodeNameTaken:
			default:
				t.Errorf("register: %v", err)
			}
		})
	}
	wg.Wait()
	if winners != 1 {
		t.Fatalf("%d connections got the name, want exactly 1", winners)
	}

	// The same for renames to one new name.
	renamers := make([]*peer, n)
	for i := range renamers {
		renamers[i] = m.join(t, fmt.Sprintf("r%d", i))
	}
	winners = 0
	for _, p := range renamers {
		wg.Go(func() {
			err := p.call(ipc.OpRename, ipc.RenameRequest{RequestID: ipc.NewID(), NewName: "prize"}, nil)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				winners++
			case ipcmesh.CodeOf(err) != ipcmesh.CodeNameTaken:
				t.Errorf("rename: %v", err)
			}
		})
	}
	wg.Wait()
	if winners != 1 {
		t.Fatalf("%d connections were renamed to the name, want exactly 1", winners)
	}
}

// Mail sent while its recipient renames itself all reaches the new name:
// what was stored before moves along, what comes after is forwarded.
func TestSendsDuringRename(t *testing.T) {
	m := startMesh(t, func(o *meshOptions) { o.Config.Limits.OpsPerSecond = 1e6 })
	bob := m.join(t, "bob")
	senders := []*peer{m.join(t, "s1"), m.join(t, "s2"), m.join(t, "s3")}
	const each = 40
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		sent []string
	)
	renamed := make(chan struct{})
	for _, s := range senders {
		wg.Go(func() {
			for i := range each {
				if i == each/2 {
					<-renamed
				}
				id := ipc.NewID()
				if err := s.call(ipc.OpSend, ipc.SendRequest{ID: id, Outgoing: ipc.Outgoing{To: "bob", Content: "hi " + id}}, nil); err != nil {
					t.Errorf("send: %v", err)
					return
				}
				mu.Lock()
				sent = append(sent, id)
				mu.Unlock()
			}
		})
	}
	var sess ipc.Session
	err := bob.call(ipc.OpRename, ipc.RenameRequest{RequestID: ipc.NewID(), NewName: "robert"}, &sess)
	close(renamed)
	wg.Wait()
	if err != nil {
		t.Fatalf("rename: %v", err)
	}
	msgs := bob.check(t)
	got := map[string]bool{}
	for _, msg := range msgs {
		if msg.To != "robert" {
			t.Errorf("message %s is addressed to %s", msg.ID, msg.To)
		}
		got[msg.ID] = true
	}
	for _, id := range sent {
		if !got[id] {
			t.Errorf("message %s did not reach robert", id)
		}
	}
	if len(msgs) != len(sent) {
		t.Errorf("robert has %d messages, %d were sent", len(msgs), len(sent))
	}
	if n, err := m.Store.UnreadCount("bob"); err != nil || n != 0 {
		t.Errorf("bob's old inbox holds %d (%v)", n, err)
	}
}
