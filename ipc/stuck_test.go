package ipc_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/ipc"
)

// A subscribed client that stops reading is cut off once its queue is
// full; the broker neither waits for it nor holds up anyone else.
func TestStuckReaderIsCutOff(t *testing.T) {
	m := startMesh(t, func(o *meshOptions) {
		o.Config.Limits.OpsPerSecond = 1e6
		// Only the bounded queue may cut the stuck client off here, not
		// a write that times out.
		o.Config.Limits.WriteTimeout = time.Hour
	})
	stuck := m.rawAuthed(t)
	f := stuck.call(ipc.OpRegister, ipc.RegisterRequest{Name: "stuck", Subscribe: true})
	if f.Error != nil {
		t.Fatal(f.Error)
	}
	var stuckSess ipc.Session
	json.Unmarshal(f.Body, &stuckSess)
	// From here on the stuck client reads nothing until the end.

	sender := m.join(t, "sender")
	bystander := m.join(t, "bystander")
	const (
		senders = 8
		each    = 400
		size    = 9000 // under the large-message threshold: pushed whole
	)
	body := strings.Repeat("x", size)
	var wg sync.WaitGroup
	errs := make(chan error, senders*each)
	for s := range senders {
		wg.Go(func() {
			for i := range each {
				var res ipc.SendResult
				err := sender.call(ipc.OpSend, ipc.SendRequest{ID: ipc.NewID(), Outgoing: ipc.Outgoing{To: "stuck", Content: fmt.Sprintf("%d/%d %s", s, i, body)}}, &res)
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("send to a stuck client: %v", err)
	}

	// Everyone else carries on.
	res := sender.send(t, "bystander", "still going")
	bystander.Events.await(t, ipc.EventMessage, nil)
	if !res.Online {
		t.Error("bystander is not online")
	}

	// The stuck client finds its connection closed once it reads again,
	// having missed pushes; its mail waits in its inbox.
	frames := stuck.wantClosed()
	pushed := 0
	for _, f := range frames {
		if f.Event == ipc.EventMessage {
			pushed++
		}
	}
	if pushed >= senders*each {
		t.Fatalf("the stuck client got all %d pushes: it was never cut off", pushed)
	}
	t.Logf("the stuck client got %d of %d pushes before it was cut off", pushed, senders*each)

	p := m.dial(t)
	var sess ipc.Session
	p.must(t, ipc.OpRegister, ipc.RegisterRequest{Name: "stuck", Token: stuckSess.Token}, &sess)
	if sess.Unread != senders*each {
		t.Errorf("stuck has %d unread, want %d", sess.Unread, senders*each)
	}
}
