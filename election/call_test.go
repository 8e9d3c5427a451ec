package election

import (
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/ipc"
)

// TestDueIn: a call is due when the broker must have answered it: the
// wait it asks for, as the broker caps it, and the grace. A wait in
// milliseconds past time.Duration's range once wrapped around to none, so
// a check asked to wait for ever gave up after the grace alone.
func TestDueIn(t *testing.T) {
	const grace = 10 * time.Second
	for _, c := range []struct {
		op   string
		in   any
		want time.Duration
	}{
		{ipc.OpSend, ipc.SendRequest{}, grace},
		{ipc.OpCheck, ipc.CheckRequest{}, grace},
		{ipc.OpCheck, ipc.CheckRequest{WaitMS: 30_000}, 30*time.Second + grace},
		{ipc.OpCheck, ipc.CheckRequest{WaitMS: -5}, grace},
		{ipc.OpCheck, ipc.CheckRequest{WaitMS: 1 << 62}, ipc.MaxWait + grace},
		{ipc.OpWaitReply, ipc.WaitReplyRequest{WaitMS: 1<<63 - 1}, ipc.MaxWait + grace},
		{ipc.OpBackup, nil, backupTimeout + grace},
	} {
		if got := dueIn(c.op, c.in, grace); got != c.want {
			t.Errorf("dueIn(%s, %+v) = %v, want %v", c.op, c.in, got, c.want)
		}
	}
	if got := dueIn(ipc.OpSend, nil, 0); got != DefaultAnswerTimeout {
		t.Errorf("dueIn with no grace = %v, want DefaultAnswerTimeout %v", got, DefaultAnswerTimeout)
	}
}
