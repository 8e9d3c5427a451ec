package gateway

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"os"
	"testing"
	"time"
)

// TestKeylessConnectionsAreBounded holds connections without a key, of
// each kind a flood uses (silent, idle after a request that needs no key,
// part way through its headers), past MaxKeylessConns: each one beyond
// closes the oldest, and a connection that carried a valid key is never
// closed for them. Before the bound, one client without a key could hold
// connections until the process ran out of descriptors.
func TestKeylessConnectionsAreBounded(t *testing.T) {
	const max = 4
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := newFace(t, func(o *Options) {
		o.MaxKeylessConns = max
		o.AllowHosts = []string{ln.Addr().String()}
	})
	key := f.key("alice")
	overTLS := httptest.NewUnstartedServer(nil)
	f.srv.ConfigureServer(overTLS.Config)
	overTLS.Listener.Close()
	overTLS.Listener = ln
	overTLS.EnableHTTP2 = true
	overTLS.StartTLS()
	t.Cleanup(overTLS.Close)

	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	for _, c := range []struct {
		name   string
		ts     *httptest.Server
		client *http.Client
	}{
		{"http1", f.ts, &http.Client{Transport: tr}},
		{"h2", overTLS, overTLS.Client()},
	} {
		t.Run(c.name, func(t *testing.T) {
			dial := func(i int) *rawConn {
				return dialRaw(t, c.ts, []string{"silent", "idle", "headers"}[i%3])
			}
			var first []*rawConn
			for i := range max {
				first = append(first, dial(i))
			}
			// The key holder's connection is one more: it closes the
			// oldest, then shows its key.
			if reused := getMe(t, c.client, c.ts.URL, key); reused {
				t.Fatal("the key holder's first request reused a connection")
			}
			var second []*rawConn
			for i := range max {
				second = append(second, dial(i))
			}
			deadline := time.Now().Add(10 * time.Second)
			for i, rc := range first {
				rc.closed(t, deadline, fmt.Sprintf("keyless connection %d of the first %d (%s)", i+1, max, rc.kind))
			}
			for _, rc := range second {
				rc.served(t)
			}
			if reused := getMe(t, c.client, c.ts.URL, key); !reused {
				t.Error("the key holder's connection was closed by connections without a key")
			}
			for _, rc := range second {
				rc.c.Close()
			}
		})
	}
}

// getMe asks for /api/v1/me with key, and reports whether the request
// went on a connection used before.
func getMe(t *testing.T, hc *http.Client, base, key string) (reused bool) {
	t.Helper()
	trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused }}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctxT(t), trace), "GET", base+"/api/v1/me", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("GET /api/v1/me with a key: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/v1/me with a key: %s", resp.Status)
	}
	return reused
}

// rawConn is a connection to the face without a key, left in one state.
type rawConn struct {
	kind string
	host string
	c    net.Conn
	r    *bufio.Reader
}

// dialRaw opens a connection to ts (with TLS's handshake done when ts
// has TLS) and leaves it as kind says: "silent" sends nothing, "idle"
// has had a GET /health answered, "headers" has sent part of a request.
func dialRaw(t *testing.T, ts *httptest.Server, kind string) *rawConn {
	t.Helper()
	addr := ts.Listener.Addr().String()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if ts.TLS != nil {
		tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
		if err := tc.Handshake(); err != nil {
			t.Fatalf("TLS handshake: %v", err)
		}
		c = tc
	}
	rc := &rawConn{kind: kind, host: addr, c: c, r: bufio.NewReader(c)}
	switch kind {
	case "idle":
		rc.health(t, "GET /health HTTP/1.1\r\n")
	case "headers":
		if _, err := io.WriteString(c, "GET /health HTTP/1.1\r\n"); err != nil {
			t.Fatal(err)
		}
	}
	return rc
}

// health sends the rest of a GET /health after start and reads the
// answer.
func (rc *rawConn) health(t *testing.T, start string) {
	t.Helper()
	rc.c.SetDeadline(time.Now().Add(10 * time.Second))
	defer rc.c.SetDeadline(time.Time{})
	if _, err := io.WriteString(rc.c, start+"Host: "+rc.host+"\r\n\r\n"); err != nil {
		t.Fatalf("%s connection: write: %v", rc.kind, err)
	}
	resp, err := http.ReadResponse(rc.r, nil)
	if err != nil {
		t.Fatalf("%s connection: GET /health: %v", rc.kind, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s connection: GET /health: %s", rc.kind, resp.Status)
	}
}

// served checks that rc is still open: a request on it is answered.
func (rc *rawConn) served(t *testing.T) {
	t.Helper()
	start := "GET /health HTTP/1.1\r\n"
	if rc.kind == "headers" {
		start = ""
	}
	rc.health(t, start)
}

// closed waits until deadline for the face to close rc.
func (rc *rawConn) closed(t *testing.T, deadline time.Time, what string) {
	t.Helper()
	rc.c.SetReadDeadline(deadline)
	_, err := rc.r.ReadByte()
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("%s is still open 10s after more were opened", what)
	} else if err == nil {
		t.Errorf("%s: the face sent more than was asked", what)
	}
	rc.c.Close()
}
