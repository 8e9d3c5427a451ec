package gateway

import (
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/ipcmesh/ipcmesh/internal/testbin"
)

// Whatever happens to a key (used in a header or a path, refused,
// revoked), the face's logs, at the debug level, name it by its id and
// never hold the key itself.
func TestKeysAreNeverLogged(t *testing.T) {
	var logs testbin.Buffer
	f := newFace(t, func(o *Options) {
		o.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	key := f.key("human")
	f.ok(req{method: "POST", path: "/api/v1/messages", key: key, body: map[string]string{"to": "nobody", "content": "hi"}}, http.StatusCreated, nil)
	f.do(req{method: "GET", path: "/k/" + key + "/api/v1/me"})
	f.do(req{method: "GET", path: "/api/v1/nowhere", key: key})
	forged := key[:len(key)-4] + "0000"
	if forged == key {
		forged = key[:len(key)-4] + "1111"
	}
	f.fails(req{method: "GET", path: "/api/v1/me", key: forged}, http.StatusUnauthorized, "unauthorized")
	f.do(req{method: "GET", path: "/k/" + forged + "/mcp"})
	if _, err := f.ctl.RevokeKeys(ctxT(t), "", "human"); err != nil {
		t.Fatal(err)
	}
	f.fails(req{method: "GET", path: "/api/v1/me", key: key}, http.StatusUnauthorized, "unauthorized")

	out := logs.String()
	secret := key[strings.LastIndexByte(key, '_')+1:]
	for _, k := range []string{key, forged, secret, forged[strings.LastIndexByte(forged, '_')+1:]} {
		if strings.Contains(out, k) {
			t.Errorf("the logs hold a key or its tag %q:\n%s", k, out)
		}
	}
	if id := key[len("ipk1_") : len("ipk1_")+16]; !strings.Contains(out, "key_id="+id) {
		t.Errorf("the logs do not name the key by its id %s:\n%s", id, out)
	}
}

// A key in a path that is not clean ("//k/KEY/..." from a base URL with a
// trailing slash, "/./k/KEY/...") is cut out like any path key: the request
// is served, and neither the log nor a redirect's Location holds the key.
func TestUncleanKeyPathsAreServedWithoutLeakingTheKey(t *testing.T) {
	var logs testbin.Buffer
	f := newFace(t, func(o *Options) {
		o.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	key := f.key("human")
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, path := range []string{"//k/" + key + "/api/v1/me", "/./k/" + key + "/api/v1/me", "///k/" + key + "/api/v1/me", "/api/../k/" + key + "/api/v1/me"} {
		hr, err := http.NewRequestWithContext(ctxT(t), "GET", f.url+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := noFollow.Do(hr)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); strings.Contains(loc, key) {
			t.Errorf("GET %s: redirected to %q, which holds the key", path, loc)
		}
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: status %d, want 200 (the key is in the path)", path, resp.StatusCode)
		}
	}
	secret := key[strings.LastIndexByte(key, '_')+1:]
	if out := logs.String(); strings.Contains(out, secret) {
		t.Errorf("the logs hold the key:\n%s", out)
	}
}

// A key put where no key belongs (/K/KEY/, a message id, a shared key) is
// no key path, and the request is refused or not found; the log names the
// path all the same, without the key's tag.
func TestKeysInOtherPathsAreNotLogged(t *testing.T) {
	var logs testbin.Buffer
	f := newFace(t, func(o *Options) {
		o.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	key := f.key("human")
	for _, path := range []string{"/K/" + key + "/api/v1/me", "/api/v1/messages/" + key, "/keys/" + key, "/x" + key + "y/z", "/api/v1/shared/" + key[:30]} {
		f.do(req{method: "GET", path: path, key: key})
	}
	out := logs.String()
	secret := key[strings.LastIndexByte(key, '_')+1:]
	if strings.Contains(out, secret) || strings.Contains(out, key[:30]) {
		t.Errorf("the logs hold the key:\n%s", out)
	}
	if id := key[len("ipk1_") : len("ipk1_")+16]; !strings.Contains(out, `path="/api/v1/messages/ipk1_`+id+`_[left out]"`) {
		t.Errorf("the log does not name the path with the key's id and its tag left out:\n%s", out)
	}
}
