package cli

import (
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
