package ipc_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/auth"
	"github.com/ipcmesh/ipcmesh/ipc"
)

// oldAuthAnswer is the body of the answer to auth of a broker from before
// revision 1, as it wrote it: its BrokerInfo has no revision. The first
// builds answered with firstAuthAnswer, which says nothing of the broker.
const (
	oldAuthAnswer   = `{"broker":{"pid":4242,"addr":"127.0.0.1:9876","started":"2026-12-02T15:00:00Z","data_dir":"/home/u/.ipcmesh"}}`
	firstAuthAnswer = `{}`

	oldFetchAnswer  = `{"message":{"id":"m1","seq":7,"from":"alice","to":"bob","time":"2026-12-02T15:01:00Z","content":"hé!","size":4},"content":"hé!"}`
	oldSharedAnswer = `{"shared":{"key":"spec","size":20,"stored_by":"alice","time":"2026-12-02T15:01:00Z","content":"aé€😀aé€😀"}}`
)

// oldBroker listens as a broker from before revision 1 does: it runs the
// handshake with keys and answers auth with authAnswer, then answers
// every request with an empty body, but channel_list, which it did not
// know, as it did, and fetch and get_shared, whose whole content it
// answers (oldFetchAnswer, oldSharedAnswer) whatever part was asked for;
// it sends the requests it got on heard.
func oldBroker(t *testing.T, keys auth.Keys, authAnswer string) (addr string, heard <-chan ipc.Frame) {
	frames := make(chan ipc.Frame, 16)
	addr = fakeServer(t, func(nc net.Conn) {
		br := bufio.NewReader(nc)
		f, err := ipc.ReadFrame(br, 64<<10)
		if err != nil {
			return
		}
		var hello ipc.HelloRequest
		if json.Unmarshal(f.Body, &hello) != nil {
			return
		}
		bn, err := auth.NewNonce()
		if err != nil {
			return
		}
		body, _ := ipc.Marshal(ipc.HelloResponse{Protocol: ipc.Protocol, Version: 1, Nonce: bn,
			Proof: keys.Proof(auth.RoleBroker, 1, hello.Nonce, bn)})
		if ipc.WriteFrame(nc, &ipc.Frame{ID: f.ID, Body: body}) != nil {
			return
		}
		if f, err = ipc.ReadFrame(br, 64<<10); err != nil || f.Op != ipc.OpAuth {
			return
		}
		if ipc.WriteFrame(nc, &ipc.Frame{ID: f.ID, Body: json.RawMessage(authAnswer)}) != nil {
			return
		}
		for {
			f, err := ipc.ReadFrame(br, ipc.DefaultMaxFrame)
			if err != nil {
				return
			}
			frames <- *f
			a := &ipc.Frame{ID: f.ID, Body: json.RawMessage(`{}`)}
			switch f.Op {
			case ipc.OpFetch:
				a.Body = json.RawMessage(oldFetchAnswer)
			case ipc.OpGetShared:
				a.Body = json.RawMessage(oldSharedAnswer)
			case ipc.OpChannelList:
				a = &ipc.Frame{ID: f.ID, Error: &ipcmesh.Error{Code: ipcmesh.CodeUnknownOp,
					Message: `unknown op "channel_list": this broker speaks protocol version 1 (see docs/PROTOCOL.md)`}}
			}
			if ipc.WriteFrame(nc, a) != nil {
				return
			}
		}
	})
	return addr, frames
}

// TestOlderBrokerRefusedNewerFields: a broker older than a request field
// ignores it and answers as if it were unset (a check from one sender
// returns, and so marks read, everyone's mail). A client connected to one,
// as after an upgrade while a broker of the old build still runs, refuses
// such a request before sending it, saying what to do, and sends the
// requests the broker honours.
func TestOlderBrokerRefusedNewerFields(t *testing.T) {
	keys := newKeys(t)
	addr, heard := oldBroker(t, keys, oldAuthAnswer)
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	c, err := ipc.Dial(ctx, addr, keys, ipc.DialOptions{})
	if err != nil {
		t.Fatalf("Dial the older broker: %v", err)
	}
	defer c.Close()
	if got := c.Broker().Revision; got != 0 {
		t.Fatalf("an older broker's revision is %d, want 0", got)
	}
	for _, tc := range []struct {
		op    string
		in    any
		field string
	}{
		{ipc.OpCheck, ipc.CheckRequest{From: "alice"}, "from"},
		{ipc.OpCheck, &ipc.CheckRequest{After: 7}, "after"},
		{ipc.OpHistory, ipc.HistoryRequest{With: "alice", Since: time.Now().Add(-time.Hour)}, "since"},
		{ipc.OpHistory, ipc.HistoryRequest{With: "alice", Until: time.Now()}, "until"},
		{ipc.OpHistory, ipc.HistoryRequest{Thread: "0123456789abcdef", After: 3}, "after"},
		{ipc.OpSetStatus, ipc.SetStatusRequest{Status: "busy", KeepDescription: true}, "keep_description"},
		{ipc.OpSearch, ipc.SearchRequest{Query: "zebra", Before: 9}, "before"},
	} {
		err := c.Call(ctx, tc.op, tc.in, nil)
		e := wantCode(t, err, ipcmesh.CodeUnsupported)
		wantMention(t, e.Message, "older ipcmesh", "pid 4242", tc.op+"'s "+tc.field, "ipcmesh stop")
	}
	// What the broker honours still goes through, and is the first
	// request it hears.
	if err := c.Call(ctx, ipc.OpCheck, ipc.CheckRequest{Limit: 5}, nil); err != nil {
		t.Fatalf("a plain check: %v", err)
	}
	if f := <-heard; f.Op != ipc.OpCheck || string(f.Body) != `{"limit":5}` {
		t.Fatalf("the older broker heard %s %s first, want the plain check", f.Op, f.Body)
	}
	// An op it does not know is refused in words that say why and what
	// to do, where its own name only the protocol version.
	err = c.Call(ctx, ipc.OpChannelList, nil, nil)
	e := wantCode(t, err, ipcmesh.CodeUnknownOp)
	wantMention(t, e.Message, "older ipcmesh", "pid 4242", ipc.OpChannelList, "ipcmesh stop")
}

// TestRevision1BrokerRefusedSearchBefore: a broker of revision 1 honours
// that revision's fields but would ignore a search's before, answering
// the newest matches again for every page: a reader paging back would
// read the first page for ever. The client refuses it, and sends the
// rest.
func TestRevision1BrokerRefusedSearchBefore(t *testing.T) {
	keys := newKeys(t)
	addr, heard := oldBroker(t, keys, `{"broker":{"pid":4343,"addr":"127.0.0.1:9876","started":"2026-12-04T15:00:00Z","data_dir":"/home/u/.ipcmesh","revision":1}}`)
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	c, err := ipc.Dial(ctx, addr, keys, ipc.DialOptions{})
	if err != nil {
		t.Fatalf("Dial the revision 1 broker: %v", err)
	}
	defer c.Close()
	err = c.Call(ctx, ipc.OpSearch, ipc.SearchRequest{Query: "zebra", Before: 9}, nil)
	e := wantCode(t, err, ipcmesh.CodeUnsupported)
	wantMention(t, e.Message, "older ipcmesh", "pid 4343", "search's before", "ipcmesh stop", "reading on past the first page")
	if err := c.Call(ctx, ipc.OpHistory, ipc.HistoryRequest{With: "alice", Since: time.Now().Add(-time.Hour)}, nil); err != nil {
		t.Fatalf("history with since, of revision 1: %v", err)
	}
	if err := c.Call(ctx, ipc.OpSearch, ipc.SearchRequest{Query: "zebra"}, nil); err != nil {
		t.Fatalf("a first page of search: %v", err)
	}
	for _, op := range []string{ipc.OpHistory, ipc.OpSearch} {
		if f := <-heard; f.Op != op {
			t.Fatalf("the broker heard %s %s, want %s", f.Op, f.Body, op)
		}
	}
}

// TestFirstBuildBrokerRefusedNewerFields: the first builds' brokers did
// not say their pid, and the refusal does not name one.
func TestFirstBuildBrokerRefusedNewerFields(t *testing.T) {
	keys := newKeys(t)
	addr, _ := oldBroker(t, keys, firstAuthAnswer)
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	c, err := ipc.Dial(ctx, addr, keys, ipc.DialOptions{})
	if err != nil {
		t.Fatalf("Dial a first build's broker: %v", err)
	}
	defer c.Close()
	for _, err := range []error{
		c.Call(ctx, ipc.OpCheck, ipc.CheckRequest{From: "alice"}, nil),
		c.Call(ctx, ipc.OpChannelList, nil, nil),
	} {
		if err == nil || strings.Contains(err.Error(), "pid") || !strings.Contains(err.Error(), "the broker runs an older ipcmesh") {
			t.Errorf("a first build's broker: %v, want a refusal naming no pid", err)
		}
	}
}

// TestBrokerSaysItsRevision: a broker says its revision at auth, so that
// its clients send it the fields it honours.
func TestBrokerSaysItsRevision(t *testing.T) {
	m := startMesh(t, nil)
	p := m.join(t, "alice")
	if got := p.Broker().Revision; got != ipc.Revision {
		t.Fatalf("the broker says revision %d, want %d", got, ipc.Revision)
	}
	var r ipc.CheckResult
	p.must(t, ipc.OpCheck, ipc.CheckRequest{From: "bob"}, &r)
}

// TestRevision2BrokerAnswersTheWholeContent: a broker older than revision
// 3 ignores the part a fetch or a get_shared asks for and answers the
// whole content. The client keeps the part, so that its caller gets what
// a newer broker answers.
func TestRevision2BrokerAnswersTheWholeContent(t *testing.T) {
	keys := newKeys(t)
	addr, _ := oldBroker(t, keys, `{"broker":{"pid":4444,"addr":"127.0.0.1:9876","started":"2026-12-05T15:00:00Z","data_dir":"/home/u/.ipcmesh","revision":2}}`)
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	c, err := ipc.Dial(ctx, addr, keys, ipc.DialOptions{})
	if err != nil {
		t.Fatalf("Dial the revision 2 broker: %v", err)
	}
	defer c.Close()
	var f ipc.FetchResult
	if err := c.Call(ctx, ipc.OpFetch, ipc.FetchRequest{ID: "m1", Part: ipc.Part{Offset: 2, Limit: 2}}, &f); err != nil {
		t.Fatalf("fetch a part: %v", err)
	}
	if f.Content != "é" || f.Offset != 1 || f.Message.Content != "é" || f.Message.Size != 4 || f.Message.Seq != 7 {
		t.Errorf("2 bytes at 2 of %q: %q at %d, the message's %q, size %d, seq %d; want %q at 1, size 4, seq 7",
			"hé!", f.Content, f.Offset, f.Message.Content, f.Message.Size, f.Message.Seq, "é")
	}
	var sh ipc.SharedResult
	if err := c.Call(ctx, ipc.OpGetShared, ipc.GetSharedRequest{Key: "spec", Part: ipc.Part{Offset: 7, Limit: 9}}, &sh); err != nil {
		t.Fatalf("get a part of a shared value: %v", err)
	}
	if sh.Shared.Content != "😀aé" || sh.Offset != 6 || sh.Shared.Size != 20 {
		t.Errorf("9 bytes at 7 of %q: %q at %d, size %d; want %q at 6, size 20", "aé€😀aé€😀", sh.Shared.Content, sh.Offset, sh.Shared.Size, "😀aé")
	}
	sh = ipc.SharedResult{}
	if err := c.Call(ctx, ipc.OpGetShared, ipc.GetSharedRequest{Key: "spec"}, &sh); err != nil || sh.Shared.Content != "aé€😀aé€😀" {
		t.Errorf("the whole value: %q, %v", sh.Shared.Content, err)
	}
}
