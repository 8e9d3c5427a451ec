package gateway

import (
	"encoding/json"
	"testing"

	"github.com/ipcmesh/ipcmesh/ipc"
)

// TestChannelWithoutPostsHasNoLastActive checks that a channel nobody has
// posted to comes without last_active, as PROTOCOL.md and the OpenAPI
// document have it optional: it came as 0001-01-01T00:00:00Z, a time a
// client shows as the year 1 or takes for a real post.
func TestChannelWithoutPostsHasNoLastActive(t *testing.T) {
	f := newFace(t, nil)
	key := f.key("alice")
	_, b := f.do(req{method: "POST", path: "/api/v1/channels", key: key, body: ipc.ChannelCreateRequest{Name: "quiet"}})
	var created struct{ Channel map[string]json.RawMessage }
	if err := json.Unmarshal(b, &created); err != nil || created.Channel == nil {
		t.Fatalf("create a channel: %s (%v)", b, err)
	}
	if v, ok := created.Channel["last_active"]; ok {
		t.Errorf("a channel without posts has last_active %s", v)
	}
	f.ok(req{method: "POST", path: "/api/v1/messages", key: key, body: ipc.Outgoing{To: "#quiet", Content: "hi"}}, 201, nil)
	var list struct{ Channels []map[string]json.RawMessage }
	f.ok(req{method: "GET", path: "/api/v1/channels", key: key}, 200, &list)
	if len(list.Channels) != 1 || list.Channels[0]["last_active"] == nil {
		t.Errorf("after a post, channels = %v, want last_active", list.Channels)
	}
}

// TestSearchNeedsNoWords checks that the document asks for q no more than
// the face does: a search by sender, channel or time alone is served, and
// a client that took q for required (a ChatGPT action, say) could not ask
// for it.
func TestSearchNeedsNoWords(t *testing.T) {
	f := newFace(t, nil)
	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []struct {
				Name     string
				Required bool
			}
		}
	}
	f.ok(req{method: "GET", path: "/openapi.json"}, 200, &doc)
	for _, p := range doc.Paths["/api/v1/search"]["get"].Parameters {
		if p.Required {
			t.Errorf("the document has searchMessages' %s required", p.Name)
		}
	}
	key := f.key("alice")
	f.peer("bob")
	f.ok(req{method: "POST", path: "/api/v1/messages", key: key, body: ipc.Outgoing{To: "bob", Content: "hello"}}, 201, nil)
	var found ipc.SearchResult
	f.ok(req{method: "GET", path: "/api/v1/search?from=alice", key: key}, 200, &found)
	if len(found.Messages) != 1 {
		t.Errorf("search?from=alice = %+v, want the one message", found.Messages)
	}
}
