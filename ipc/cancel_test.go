package ipc_test

import (
	"encoding/json"
	"testing"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/ipc"
)

// TestCancelCallsOffAWait: a client that gives up on a waiting check or
// wait_reply calls it off, and the broker answers it at once, as if its
// wait had run out, instead of holding it (and one of the connection's
// waits, and status's count) until its wait_ms has passed.
func TestCancelCallsOffAWait(t *testing.T) {
	m := startMesh(t, nil)
	observer := m.dial(t)
	m.join(t, "alice")
	r := m.rawAuthed(t)
	if f := r.call(ipc.OpRegister, ipc.RegisterRequest{Name: "bob"}); f.Error != nil {
		t.Fatalf("register: %v", f.Error)
	}
	f := r.call(ipc.OpSend, ipc.SendRequest{ID: ipc.NewID(), Outgoing: ipc.Outgoing{To: "alice", Content: "a question"}})
	var question ipc.SendResult
	if f.Error != nil || json.Unmarshal(f.Body, &question) != nil {
		t.Fatalf("send: %v %s", f.Error, f.Body)
	}
	const checkID, waitID, cancelCheck, cancelWait = 100, 101, 102, 103
	long := ipc.MaxWait.Milliseconds()
	write := func(id uint64, op string, body any) {
		t.Helper()
		raw, _ := json.Marshal(body)
		if err := r.write(&ipc.Frame{ID: id, Op: op, Body: raw}); err != nil {
			t.Fatalf("write %s: %v", op, err)
		}
	}
	write(checkID, ipc.OpCheck, ipc.CheckRequest{WaitMS: long})
	write(waitID, ipc.OpWaitReply, ipc.WaitReplyRequest{ID: question.Message.ID, WaitMS: long})
	awaitWaiting(t, observer, 2)

	write(cancelCheck, ipc.OpCancel, ipc.CancelRequest{ID: checkID})
	write(cancelWait, ipc.OpCancel, ipc.CancelRequest{ID: waitID})
	got := map[uint64]*ipc.Frame{}
	for len(got) < 4 {
		f, err := r.read()
		if err != nil {
			t.Fatalf("with %d of the 4 answers: %v (the waits were not called off)", len(got), err)
		}
		if f.Event == "" {
			got[f.ID] = f
		}
	}
	var check ipc.CheckResult
	if f := got[checkID]; f.Error != nil || json.Unmarshal(f.Body, &check) != nil || check.Messages == nil || len(check.Messages) != 0 {
		t.Errorf("the check called off: %v %s; want an empty page, as when its wait runs out", f.Error, f.Body)
	}
	var reply ipc.WaitReplyResult
	if f := got[waitID]; f.Error != nil || json.Unmarshal(f.Body, &reply) != nil || len(reply.Messages) != 0 || reply.Done {
		t.Errorf("the wait_reply called off: %v %s; want no messages, as when its wait runs out", f.Error, f.Body)
	}
	for _, id := range []uint64{cancelCheck, cancelWait} {
		var c ipc.CancelResult
		if f := got[id]; f.Error != nil || json.Unmarshal(f.Body, &c) != nil || !c.Cancelled {
			t.Errorf("cancel: %v %s; want cancelled", f.Error, f.Body)
		}
	}
	awaitWaiting(t, observer, 0)

	// A request answered already, or one that does not wait, is not
	// called off; a cancel without an id is malformed.
	var c ipc.CancelResult
	if f := r.call(ipc.OpCancel, ipc.CancelRequest{ID: checkID}); f.Error != nil || json.Unmarshal(f.Body, &c) != nil || c.Cancelled {
		t.Errorf("cancel of an answered request: %v %s; want not cancelled", f.Error, f.Body)
	}
	if f := r.call(ipc.OpCancel, map[string]any{}); f.Error == nil || f.Error.Code != ipcmesh.CodeBadRequest {
		t.Errorf("cancel without an id: %v %s; want bad_request", f.Error, f.Body)
	}
}

// TestCancelRightBehindItsWait: a cancel that follows its check at once,
// read by the broker before any worker has begun to serve the check,
// calls it off all the same.
func TestCancelRightBehindItsWait(t *testing.T) {
	m := startMesh(t, nil)
	r := m.rawAuthed(t)
	if f := r.call(ipc.OpRegister, ipc.RegisterRequest{Name: "bob"}); f.Error != nil {
		t.Fatalf("register: %v", f.Error)
	}
	check, _ := json.Marshal(ipc.CheckRequest{WaitMS: ipc.MaxWait.Milliseconds()})
	for i := range 50 {
		checkID, cancelID := uint64(1000+2*i), uint64(1001+2*i)
		cancel, _ := json.Marshal(ipc.CancelRequest{ID: checkID})
		var both []byte
		for _, f := range []*ipc.Frame{{ID: checkID, Op: ipc.OpCheck, Body: check}, {ID: cancelID, Op: ipc.OpCancel, Body: cancel}} {
			b, err := ipc.AppendFrame(nil, f)
			if err != nil {
				t.Fatal(err)
			}
			both = append(both, b...)
		}
		if _, err := r.nc.Write(both); err != nil {
			t.Fatal(err)
		}
		var cancelled ipc.CancelResult
		for seen := 0; seen < 2; {
			f, err := r.read()
			if err != nil {
				t.Fatalf("check %d and the cancel right behind it: %v (the check was not called off)", i, err)
			}
			if f.Event != "" {
				continue
			}
			seen++
			if f.ID == cancelID && (f.Error != nil || json.Unmarshal(f.Body, &cancelled) != nil || !cancelled.Cancelled) {
				t.Fatalf("cancel right behind check %d: %v %s; want cancelled", i, f.Error, f.Body)
			}
		}
	}
}
