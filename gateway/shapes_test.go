package gateway

import (
	"encoding/json"
	"slices"
	"strings"
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

// TestBodyOfARouteThatTakesNone checks that a route with no body, leaving a
// channel, refuses one with fields, as every other route refuses a field it
// does not take: {"members": [...]}, as joining takes, was ignored, and the
// caller left alone while it meant others to leave.
func TestBodyOfARouteThatTakesNone(t *testing.T) {
	f := newFace(t, nil)
	key := f.key("alice")
	f.ok(req{method: "POST", path: "/api/v1/channels", key: key, body: ipc.ChannelCreateRequest{Name: "dev", Members: []string{"bob"}}}, 201, nil)
	e := f.fails(req{method: "POST", path: "/api/v1/channels/dev/leave", key: key, body: `{"members":["bob"]}`}, 400, "bad_request")
	if !strings.Contains(e.Error.Message, `"members"`) || !strings.Contains(e.Error.Message, "takes no request body") {
		t.Errorf("a leave with members says %q; want the field and that the route takes no body", e.Error.Message)
	}
	var list ipc.ChannelListResult
	f.ok(req{method: "GET", path: "/api/v1/channels", key: key}, 200, &list)
	if len(list.Channels) != 1 || !slices.Contains(list.Channels[0].Members, "alice") {
		t.Errorf("after a refused leave, channels = %+v, want alice still in dev", list.Channels)
	}
	for _, body := range []any{nil, "{}", " \n"} {
		f.ok(req{method: "POST", path: "/api/v1/channels/dev/leave", key: key, body: body}, 200, nil)
		f.ok(req{method: "POST", path: "/api/v1/channels/dev/join", key: key}, 200, nil)
	}
}
