package cli

import (
	"context"
	"testing"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/ipc"
)

func TestDescribeSend(t *testing.T) {
	for _, tc := range []struct {
		r    ipc.SendResult
		want string
	}{
		{ipc.SendResult{Message: ipcmesh.Message{ID: "m1", To: "bob"}, Online: true},
			"delivered to bob (online) [id m1]"},
		{ipc.SendResult{Message: ipcmesh.Message{ID: "m2", To: "robert", SentTo: "bob", Type: "request", Thread: "m1"}, Forwarded: true},
			"stored for robert (offline; it gets the message on its next check); forwarded: bob is now robert [id m2, request, thread m1]"},
		{ipc.SendResult{Message: ipcmesh.Message{ID: "m3", To: "#dev", Channel: "dev", Large: true, Size: 20000, Path: "/data/large-messages/m3.md"}, Channel: "dev", Members: 2},
			"posted to #dev (2 other members, none online); large (19.5 KiB), readers get a summary and the file /data/large-messages/m3.md [id m3]"},
	} {
		if got := describeSend(tc.r); got != tc.want {
			t.Errorf("describeSend(%+v)\n = %q\nwant %q", tc.r, got, tc.want)
		}
	}
}

// TestInterruptedOnItsWaySaysWhetherItWent: an interrupt that ended a
// send before its request was written (the peer still waited for its
// broker) says that nothing was sent; any other says the message may
// have been stored, and how to send it again.
func TestInterruptedOnItsWaySaysWhetherItWent(t *testing.T) {
	m := newHookMesh(t)
	p := m.peer("alice")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := p.Send(ctx, "bob", "never sent")
	if !interrupted(ctx, err) {
		t.Fatalf("a send on an ended context: %v; want it taken for interrupted", err)
	}
	const again = "to be sure it goes, run the command again with --id 0123456789abcdef"
	if got, want := interruptedOnItsWay(err, "the message", again, "nothing was sent").Error(), "interrupted before the message went to the broker: nothing was sent"; got != want {
		t.Errorf("interrupted before the request was written: %q, want %q", got, want)
	}
	if got, want := interruptedOnItsWay(context.Canceled, "the message", again, "nothing was sent").Error(), "interrupted while the message was on its way to the broker: it may have been stored; "+again; got != want {
		t.Errorf("interrupted with the request written: %q, want %q", got, want)
	}
}
