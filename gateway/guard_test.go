package gateway

import (
	"net"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestHostCheck(t *testing.T) {
	f := newFace(t, func(o *Options) { o.AllowHosts = []string{"Tunnel.Example"} })
	_, port, _ := net.SplitHostPort(f.srv.opts.Addr)
	health := func(host string) req {
		return req{method: "GET", path: "/health", header: map[string]string{"Host": host}}
	}
	for _, host := range []string{"localhost:" + port, "127.0.0.1:" + port, "[::1]:" + port, "tunnel.example", "tunnel.example:443"} {
		f.ok(health(host), 200, nil)
	}
	// A page that rebinds its DNS name to 127.0.0.1 sends its own name.
	for _, host := range []string{"evil.example:" + port, "localhost:1", "localhost.evil.example", "127.0.0.2:" + port} {
		e := f.fails(health(host), 421, "bad_request")
		if !strings.Contains(e.Error.Message, "--allow-host") {
			t.Errorf("Host %s: %q does not say what to do", host, e.Error.Message)
		}
	}
	// The check covers MCP too.
	key := f.key("alice")
	f.fails(req{method: "POST", path: "/mcp", key: key, body: "{}", header: map[string]string{"Host": "evil.example:" + port}}, 421, "bad_request")
}

func TestOrigins(t *testing.T) {
	f := newFace(t, func(o *Options) { o.AllowOrigins = []string{"https://app.example"} })
	key := f.key("alice")
	me := func(origin string) req {
		return req{method: "GET", path: "/api/v1/me", key: key, header: map[string]string{"Origin": origin}}
	}
	for _, o := range []string{"https://evil.example", "null", "http://localhost:1", "https://app.example.evil"} {
		f.fails(me(o), 403, "bad_request")
	}
	f.fails(req{method: "GET", path: "/sse", key: key, header: map[string]string{"Origin": "https://evil.example"}}, 403, "bad_request")

	// The face's own page: no CORS headers needed, none sent.
	resp := f.ok(me(f.url), 200, nil)
	if resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("same origin got CORS headers")
	}
	// An allowed origin gets them, and its preflight is answered.
	resp = f.ok(me("https://app.example"), 200, nil)
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "https://app.example" {
		t.Errorf("Access-Control-Allow-Origin = %q", got)
	}
	if !strings.Contains(resp.Header.Get("Vary"), "Origin") {
		t.Errorf("Vary = %q, want Origin", resp.Header.Get("Vary"))
	}
	pre := req{method: "OPTIONS", path: "/api/v1/messages", header: map[string]string{
		"Origin": "https://app.example", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization, content-type"}}
	resp, _ = f.do(pre)
	if resp.StatusCode != 204 || !strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "Authorization") ||
		!strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "POST") {
		t.Errorf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
	pre.header["Origin"] = "https://evil.example"
	f.fails(pre, 403, "bad_request")
}

func TestGuardUnits(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"https://App.Example:443/", "https://app.example"},
		{"http://localhost:8080", "http://localhost:8080"},
		{"http://[::1]:80", "http://[::1]"},
	} {
		if got, err := normOrigin(c.in); err != nil || got != c.want {
			t.Errorf("normOrigin(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"*", "null", "app.example", "https://app.example/path", "ftp://x"} {
		if _, err := normOrigin(bad); err == nil {
			t.Errorf("normOrigin(%q) accepted it", bad)
		}
	}
	if _, err := withDefaults(Options{Addr: "127.0.0.1:1", AllowOrigins: []string{"*"}}); err == nil {
		t.Error(`AllowOrigins "*" was accepted`)
	}
	if _, err := withDefaults(Options{Addr: "nope"}); err == nil {
		t.Error("an Addr without a port was accepted")
	}
	o, err := withDefaults(Options{Addr: "127.0.0.1:1"})
	if err != nil || o.MaxBody != 16<<20+64<<10 || o.Rate != 50 || o.Burst != 100 || o.Idle != defaultIdle {
		t.Errorf("defaults = %+v, %v", o, err)
	}
	o.Mesh.Store.MaxMessageBytes = 1000
	o.MaxBody = 0
	if o, _ = withDefaults(o); o.MaxBody != 2000+64<<10 {
		t.Errorf("MaxBody for 1000-byte messages = %d", o.MaxBody)
	}
}

func TestLimiters(t *testing.T) {
	l := newLimiters(10, 2)
	now := time.Now()
	for i := range 2 {
		if _, ok := l.allow("k", now); !ok {
			t.Fatalf("request %d refused within the burst", i+1)
		}
	}
	wait, ok := l.allow("k", now)
	if ok || wait <= 0 || wait > 100*time.Millisecond {
		t.Fatalf("over the burst: %v, %v; want refused for up to 100ms", wait, ok)
	}
	if _, ok := l.peek("k", now); ok {
		t.Error("peek finds a token in an empty bucket")
	}
	if _, ok := l.allow("other", now); !ok {
		t.Error("another key shares the bucket")
	}
	// Once full again, buckets are forgotten.
	later := now.Add(pruneEvery + time.Second)
	if _, ok := l.allow("k", later); !ok {
		t.Error("refused after the bucket refilled")
	}
	l.mu.Lock()
	n := len(l.m)
	l.mu.Unlock()
	if n != 1 {
		t.Errorf("%d buckets kept, want 1 (the one just used)", n)
	}
}

// TestOwnPageBehindAProxy checks the setup README gives for a proxy or
// tunnel in front of a loopback face (--allow-host NAME): a proxy that
// passes on the face's own Host (nginx does by default) made the page at
// https://NAME a foreign origin, so it could sign in and read, but every
// send of its was refused with 403.
func TestOwnPageBehindAProxy(t *testing.T) {
	f := newFace(t, func(o *Options) { o.AllowHosts = []string{"mesh.example.com"} })
	key := f.key("alice")
	f.peer("bob")
	u, _ := url.Parse(f.url)
	send := func(host, origin string) req {
		return req{method: "POST", path: "/api/v1/messages", key: key, body: map[string]string{"to": "bob", "content": "from the page"},
			header: map[string]string{"Host": host, "Origin": origin}}
	}
	for _, host := range []string{u.Host, "mesh.example.com"} {
		resp := f.ok(send(host, "https://mesh.example.com"), 201, nil)
		if resp.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("Host %s: the face's own page got CORS headers", host)
		}
		f.fails(send(host, "https://evil.example.com"), 403, "bad_request")
		f.fails(send(host, "https://mesh.example.com.evil"), 403, "bad_request")
	}
}
