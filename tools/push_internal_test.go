package tools

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/ipc"
)

func TestChannelMessage(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    ipcmesh.Message
		want channelParams
	}{
		{"message", ipcmesh.Message{ID: "id-1", From: "alice", Content: "hi"},
			channelParams{"hi", map[string]string{"from": "alice", "id": "id-1", "type": "message"}}},
		{"broadcast", ipcmesh.Message{ID: "id-2.bob", From: "alice", Content: "all", Broadcast: true},
			channelParams{"all", map[string]string{"from": "alice", "id": "id-2.bob", "type": "broadcast"}}},
		{"channel post", ipcmesh.Message{ID: "id-4", From: "alice", To: "#dev", Channel: "dev", Content: "red", Type: "status"},
			channelParams{"red", map[string]string{"channel": "dev", "from": "alice", "id": "id-4", "type": "status"}}},
		{"reply", ipcmesh.Message{ID: "id-5", From: "bob", Content: "ok", Type: "response", ReplyTo: "id-4", Thread: "id-1", Shared: "plan"},
			channelParams{"ok", map[string]string{"from": "bob", "id": "id-5", "reply_to": "id-4", "shared": "plan", "thread": "id-1", "type": "response"}}},
	} {
		got := New(Options{}).channelMessage(tc.m)
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(tc.want)
		if string(g) != string(w) {
			t.Errorf("%s: got %s, want %s", tc.name, g, w)
		}
	}
	large := New(Options{}).channelMessage(ipcmesh.Message{ID: "id-3", From: "bob", Content: "summary…", Large: true, Size: 20000, Path: "/data/large-messages/x.md"})
	if !strings.HasPrefix(large.Content, "summary…") || !strings.Contains(large.Content, "/data/large-messages/x.md") || !strings.Contains(large.Content, "history with id id-3") || !strings.Contains(large.Content, "19.5 KiB") {
		t.Errorf("large message content %q", large.Content)
	}
}

func TestDescribeSend(t *testing.T) {
	for _, tc := range []struct {
		r    ipc.SendResult
		want []string
	}{
		{ipc.SendResult{Message: ipcmesh.Message{To: "bob"}, Online: true}, []string{"Delivered to bob"}},
		{ipc.SendResult{Message: ipcmesh.Message{To: "bob"}}, []string{"Stored for bob", "offline"}},
		{ipc.SendResult{Message: ipcmesh.Message{To: "bobb"}, Queued: true, QueueDays: 7, Suggestions: []string{"bob", "bobby"}},
			[]string{"Queued for bobb", "7 days", "Did you mean bob or bobby?"}},
		{ipc.SendResult{Message: ipcmesh.Message{To: "robert", SentTo: "bob"}, Forwarded: true, Online: true},
			[]string{"Delivered to robert", "Forwarded: bob is now called robert"}},
		{ipc.SendResult{Message: ipcmesh.Message{ID: "m1", To: "#dev", Channel: "dev", Type: "request"}, Channel: "dev", Members: 2, Online: true},
			[]string{"Posted to #dev: it reaches its 2 other members", "Id m1, type request", `history with thread "m1"`}},
		{ipc.SendResult{Message: ipcmesh.Message{ID: "m2", To: "#dev", Channel: "dev"}, Channel: "dev"},
			[]string{"no other instance is a member"}},
		{ipc.SendResult{Message: ipcmesh.Message{ID: "m3", To: "bob", ReplyTo: "m1", Thread: "m1"}, Online: true},
			[]string{"Delivered to bob", "Id m3, thread m1."}},
	} {
		got := describeSend(tc.r)
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("describeSend(%+v) = %q, want it to contain %q", tc.r, got, w)
			}
		}
	}
}
