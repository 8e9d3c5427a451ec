package gateway

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// FuzzOpenAPIServer asks two real faces for /openapi.json over TCP, with
// an arbitrary Host, X-Forwarded-Proto and X-Forwarded-Host, and reads
// the server the document names: a ChatGPT action sends every call, and
// the key with it, to that URL. One face listens on a loopback address,
// as a face behind a tunnel or proxy does, the other on all addresses;
// both are given --allow-host mesh.example.com and tunnel.example:8443.
// Whatever a request holds, a document served names a server that is
// scheme://host and nothing more (no user, path, query or fragment,
// which would send the calls somewhere else than the host it names),
// with https exactly when X-Forwarded-Proto says https, and whose host is
// the request's Host as sent, or the first host of X-Forwarded-Host as
// sent when its name is one --allow-host gives. On the loopback face a
// Host is a loopback name on its port or an allowed one; the other takes
// any Host that is one, since it is the address its client reached.
// The oracles read the URL with net/url. "{port}" in an input stands for
// the face's port, which each run picks anew.
//
//	go test -run '^$' -fuzz '^FuzzOpenAPIServer$' -fuzztime 60s ./gateway/
func FuzzOpenAPIServer(f *testing.F) {
	// Seeds: testdata/fuzz/FuzzOpenAPIServer.
	allow := []string{"mesh.example.com", "tunnel.example:8443"}
	loop := newFace(f, func(o *Options) { o.AllowHosts = allow })
	public := newFace(f, func(o *Options) {
		o.AllowHosts = allow
		_, port, _ := net.SplitHostPort(o.Addr)
		o.Addr = net.JoinHostPort("0.0.0.0", port)
	})
	f.Fuzz(func(t *testing.T, onPublic bool, host, proto, fwd string) {
		if strings.ContainsAny(host+proto+fwd, "\r\n") {
			return // another request, or another header: not these
		}
		fc := loop
		if onPublic {
			fc = public
		}
		port := portOf(fc.ts.Listener.Addr().String(), "")
		host = strings.ReplaceAll(host, "{port}", port)
		fwd = strings.ReplaceAll(fwd, "{port}", port)
		status, server := servedServer(t, fc, host, proto, fwd)
		switch {
		case status == http.StatusBadRequest:
			// A request net/http refuses, or a Host the document cannot
			// name, which the face's error names.
			if server != "" && !strings.Contains(server, "Host") {
				t.Fatalf("Host %q: refused with %q, which does not say the Host is wrong", host, server)
			}
			return
		case status == http.StatusMisdirectedRequest && !onPublic:
			return // a Host the loopback face does not answer to
		case status != http.StatusOK:
			t.Fatalf("GET /openapi.json with Host %q: %d", host, status)
		}
		u, err := url.Parse(server)
		if err != nil {
			t.Fatalf("Host %q, X-Forwarded-Host %q: the server %q is no URL: %v", host, fwd, server, err)
		}
		scheme := "http"
		if strings.EqualFold(strings.Trim(proto, " \t"), "https") {
			scheme = "https"
		}
		if u.Scheme != scheme || u.Host == "" || server != scheme+"://"+u.Host {
			t.Fatalf("Host %q, X-Forwarded-Proto %q, X-Forwarded-Host %q: the server %q is not %s://host and nothing more (net/url reads user %v, host %q, path %q)",
				host, proto, fwd, server, scheme, u.User, u.Host, u.Path)
		}
		first, _, _ := strings.Cut(fwd, ",")
		first = strings.Trim(first, " \t")
		name := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
		allowed := name == "mesh.example.com" || name == "tunnel.example"
		switch {
		case u.Host == strings.Trim(first, " \t") && allowed:
			// A proxy's word for the public host, which --allow-host gives.
		case u.Host == strings.Trim(host, " \t"):
			local := (name == "localhost" || name == "127.0.0.1" || name == "::1") && u.Port() == port
			if !onPublic && !local && !allowed {
				t.Fatalf("the loopback face served Host %q, naming server %q", host, server)
			}
		default:
			t.Fatalf("Host %q, X-Forwarded-Host %q: the server %q names neither the Host nor an allowed forwarded host", host, fwd, server)
		}
	})
}

// servedServer asks fc for /openapi.json with the headers given (none
// where empty) and returns the status, and for a 200 the server's URL,
// for a JSON error its message.
func servedServer(t *testing.T, fc *face, host, proto, fwd string) (int, string) {
	t.Helper()
	conn, err := net.Dial("tcp", fc.ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "GET /openapi.json HTTP/1.1\r\nHost: %s\r\n", host)
	if proto != "" {
		fmt.Fprintf(&b, "X-Forwarded-Proto: %s\r\n", proto)
	}
	if fwd != "" {
		fmt.Fprintf(&b, "X-Forwarded-Host: %s\r\n", fwd)
	}
	b.WriteString("Connection: close\r\n\r\n")
	if _, err := io.WriteString(conn, b.String()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("GET /openapi.json with Host %q: %v", host, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			return resp.StatusCode, ""
		}
		var e struct{ Error struct{ Message string } }
		if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || e.Error.Message == "" {
			t.Fatalf("GET /openapi.json with Host %q: %s with no error message (%v)", host, resp.Status, err)
		}
		return resp.StatusCode, e.Error.Message
	}
	var doc struct{ Servers []struct{ URL string } }
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil || len(doc.Servers) != 1 {
		t.Fatalf("GET /openapi.json with Host %q: servers %+v, %v", host, doc.Servers, err)
	}
	return resp.StatusCode, doc.Servers[0].URL
}
