package gateway

import (
	"strings"
	"testing"

	"github.com/ipcmesh/ipcmesh/internal/mcptest"
)

// TestQueryParameters checks that a query the route does not take is
// refused, naming the parameter and what the route takes, rather than
// served as if it were not there: a misspelt wait answered at once, a
// repeated or badly escaped limit was read as whatever came first, or
// as none.
func TestQueryParameters(t *testing.T) {
	f := newFace(t, nil)
	key := f.key("alice")
	for _, c := range []struct {
		path string
		want []string
	}{
		{"/api/v1/messages?wiat=30s", []string{`unknown query parameter "wiat"`, "GET /api/v1/messages takes limit, wait, from"}},
		{"/api/v1/messages?limit=5&limit=x", []string{"limit is given 2 times", "give it once"}},
		{"/api/v1/messages?limit=%zz", []string{"not valid", "%XX escapes"}},
		{"/api/v1/history?with=bob&with=carol", []string{"with is given 2 times"}},
		{"/api/v1/instances?limit=3", []string{`unknown query parameter "limit"`, "takes no query parameters"}},
	} {
		e := f.fails(req{method: "GET", path: c.path, key: key}, 400, "bad_request")
		mcptest.Contains(t, c.path, e.Error.Message, c.want...)
	}
	// The routes' own parameters, the page's among them, are served.
	for _, path := range []string{
		"/api/v1/messages?limit=500",
		"/api/v1/messages?limit=5&wait=0s&from=bob",
		"/api/v1/history?limit=50&with=bob&before=9",
		"/api/v1/channels?q=auth",
		"/api/v1/search?q=auth&limit=3",
	} {
		f.ok(req{method: "GET", path: path, key: key}, 200, nil)
	}
	// An unknown parameter of a route that acts as the name is refused
	// before the name goes online for it.
	var m meResult
	f.ok(req{method: "GET", path: "/api/v1/me", key: f.key("carol")}, 200, &m)
	f.fails(req{method: "GET", path: "/api/v1/shared?x=1", key: f.key("carol")}, 400, "bad_request")
	if f.ok(req{method: "GET", path: "/api/v1/me", key: f.key("carol")}, 200, &m); m.Online {
		t.Error("a request refused for its query put carol online")
	}
	if e := f.fails(req{method: "GET", path: "/api/v1/me?who=1"}, 401, "unauthorized"); strings.Contains(e.Error.Message, "who") {
		t.Errorf("a request without a key is told about its query: %q", e.Error.Message)
	}
}
