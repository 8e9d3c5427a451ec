package gateway

import (
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// FuzzGuard gives the Host and Origin checks, which every request meets
// before its key is looked at, arbitrary headers and an arbitrary
// --allow-host and --allow-origin, and checks them against what they
// guard: a loopback face answers only to a loopback name on its own port
// or to a name given with --allow-host (a page that rebinds its DNS name
// to 127.0.0.1 sends its own), and a request from a page is served only
// when the page is the face's own, reached by the request's Host or an
// allowed host, or is an allowed origin, which alone gets CORS headers.
// The oracles read the headers with net/url, not with the guard's code.
//
//	go test -run xxx -fuzz FuzzGuard -fuzztime 60s ./gateway/
func FuzzGuard(f *testing.F) {
	const port = "9877"
	for _, s := range [][4]string{
		{"127.0.0.1:" + port, "", "", ""},
		{"localhost:" + port, "http://localhost:" + port, "", ""},
		{"[::1]:" + port, "http://[::1]:" + port, "", ""},
		{"LOCALHOST.:" + port, "http://localhost.:" + port, "", ""},
		{"evil.example:" + port, "http://evil.example:" + port, "", ""},
		{"127.0.0.1:" + port, "http://localhost:3000", "", ""},
		{"localhost:" + port, "http://localhost:3000", "", ""},
		{"127.0.0.2:" + port, "", "", ""},
		{"127.0.0.1:" + port, "https://app.example", "", "https://App.Example:443/"},
		{"tunnel.example", "https://tunnel.example", "Tunnel.Example:443", ""},
		{"127.0.0.1:" + port, "https://tunnel.example", "tunnel.example", ""},
		{"127.0.0.1:" + port, "null", "", ""},
		{"[fe80::1%25en0]:" + port, "http://[fe80::1%25en0]", "", ""},
	} {
		f.Add(s[0], s[1], s[2], s[3])
	}
	f.Fuzz(func(t *testing.T, host, origin, allowHost, allowOrigin string) {
		opts := Options{Addr: "127.0.0.1:" + port, AllowHosts: []string{allowHost}}
		if _, err := normOrigin(allowOrigin); err == nil {
			opts.AllowOrigins = []string{allowOrigin}
		}
		g, err := newGuard(opts)
		if err != nil {
			t.Fatalf("newGuard(%+v): %v", opts, err)
		}
		r := &http.Request{Host: host, Header: http.Header{}}
		if !g.hostOK(r) {
			return
		}
		allowName := hostname(allowHost)
		name := hostname(host)
		switch p := portOf(host, "80"); {
		case allowHost != "" && strings.EqualFold(host, strings.TrimSpace(allowHost)):
		case name != "" && name == allowName:
		case (name == "localhost" || name == "127.0.0.1" || name == "::1") && p == port:
		default:
			t.Fatalf("Host %q (name %q, port %q) was taken, with --allow-host %q", host, name, p, allowHost)
		}
		if origin == "" {
			return
		}
		ok, cors := g.originOK(r, origin)
		if !ok {
			if cors {
				t.Fatalf("Origin %q was refused and given CORS headers", origin)
			}
			return
		}
		if cors {
			got, err := normOrigin(origin)
			want, _ := normOrigin(allowOrigin)
			if err != nil || len(opts.AllowOrigins) == 0 || got != want {
				t.Fatalf("Origin %q got CORS headers, with --allow-origin %q", origin, allowOrigin)
			}
			return
		}
		u, err := url.Parse(strings.TrimSpace(origin))
		if err != nil {
			t.Fatalf("Origin %q that net/url does not read was taken: %v", origin, err)
		}
		def := map[string]string{"http": "80", "https": "443"}[strings.ToLower(u.Scheme)]
		oname := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
		switch {
		case oname != "" && oname == allowName:
		case oname != "" && oname == name && portOf(u.Host, def) == portOf(host, def):
		default:
			t.Fatalf("Origin %q was taken for Host %q, with --allow-host %q: it is another site's page", origin, host, allowHost)
		}
	})
}

// hostname is the lower-case name of a Host header's host[:port], as
// net/url reads it and without the dot that ends a fully qualified
// name, or "" if it reads none.
func hostname(host string) string {
	u, err := url.Parse("http://" + strings.TrimSpace(host))
	if err != nil || u.Host != strings.TrimSpace(host) {
		return ""
	}
	return strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
}

// portOf is the port of a host[:port], or def when it names none.
func portOf(host, def string) string {
	if _, p, err := net.SplitHostPort(host); err == nil && p != "" {
		return p
	}
	return def
}
