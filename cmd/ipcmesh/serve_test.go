package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/testbin"
)

// startServe runs "ipcmesh serve" with args and returns it and the base URL
// from its "serving" line.
func (m *mesh) startServe(args ...string) (*proc, string) {
	m.t.Helper()
	p := m.start(nil, append([]string{"serve"}, args...)...)
	line := p.waitLine(p.stdout, "ipcmesh serving", startTimeout)
	f := strings.Fields(line)
	if len(f) < 3 || !strings.Contains(f[2], "://") {
		m.t.Fatalf("serving line %q has no URL", line)
	}
	return p, f[2]
}

// startBrokerFace runs "ipcmesh broker --http 127.0.0.1:0" and returns it
// and the face's base URL.
func (m *mesh) startBrokerFace() (*proc, string) {
	m.t.Helper()
	p := m.start(nil, "broker", "--http", "127.0.0.1:0")
	p.waitLine(p.stdout, "ipcmesh broker serving", startTimeout)
	f := strings.Fields(p.waitLine(p.stdout, "ipcmesh serving", startTimeout))
	if len(f) < 3 || !strings.HasPrefix(f[2], "http://") {
		m.t.Fatalf("serving line %q has no URL", f)
	}
	return p, f[2]
}

// api makes one REST request with key and decodes a JSON answer into out
// (when not nil); it returns the status.
func api(t *testing.T, c *http.Client, method, url, key string, body, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %d %s: %v", method, url, resp.StatusCode, raw, err)
		}
	}
	return resp.StatusCode
}

// A person with a key posts over HTTP as the key's name and reads the
// answer; revoking the key shuts them out; the face's names never become
// the data folder's current name.
func TestServeRESTWithAKey(t *testing.T) {
	m := newMesh(t)
	m.startBroker()
	m.mustRun("register", "builder")
	srv, base := m.startServe("--http", "127.0.0.1:0")
	key := strings.TrimSpace(m.mustRun("key", "create", "human", "--label", "e2e").stdout)
	c := &http.Client{Timeout: runTimeout}

	var health map[string]any
	if code := api(t, c, "GET", base+"/health", "", nil, &health); code != 200 || health["status"] != "ok" {
		t.Fatalf("/health: %d %v", code, health)
	}
	if code := api(t, c, "POST", base+"/api/v1/messages", key, map[string]string{"to": "builder", "content": "hello over http"}, nil); code != http.StatusCreated {
		t.Fatalf("send: status %d, want 201", code)
	}
	got := m.check("--as", "builder")
	if len(got.Messages) != 1 || got.Messages[0].From != "human" || got.Messages[0].Content != "hello over http" {
		t.Fatalf("builder's check = %+v", got.Messages)
	}

	// A command without --as still acts as builder, the name registered
	// here: the face's register of human did not take that over.
	m.mustRun("send", "human", "reply from the cli")
	var inbox struct {
		Messages []struct{ From, Content string } `json:"messages"`
	}
	if code := api(t, c, "GET", base+"/api/v1/messages?wait=10s", key, nil, &inbox); code != 200 || len(inbox.Messages) != 1 || inbox.Messages[0].From != "builder" {
		t.Fatalf("human's mail: %d %+v", code, inbox)
	}

	tampered := key[:len(key)-1] + "0"
	if tampered == key {
		tampered = key[:len(key)-1] + "1"
	}
	if code := api(t, c, "GET", base+"/api/v1/me", tampered, nil, nil); code != http.StatusUnauthorized {
		t.Errorf("a tampered key: status %d, want 401", code)
	}
	m.mustRun("key", "revoke", "human")
	if code := api(t, c, "GET", base+"/api/v1/me", key, nil, nil); code != http.StatusUnauthorized {
		t.Errorf("a revoked key: status %d, want 401", code)
	}
	var keys []struct {
		Name    string `json:"name"`
		Revoked string `json:"revoked"`
	}
	m.mustJSON(&keys, "key", "list", "--json")
	if len(keys) != 1 || keys[0].Name != "human" || keys[0].Revoked == "" {
		t.Errorf("key list = %+v", keys)
	}

	srv.stopAsCtrlC(runTimeout)
}

// "ipcmesh broker --http" is the broker and the HTTP face in one process:
// a REST send through it is stored by that process, and a mistake in
// the face's flags starts no broker.
func TestBrokerServesTheFace(t *testing.T) {
	m := newMesh(t)
	if r := m.run("broker", "--detached", "--http", "127.0.0.1:0"); r.code != 2 || !strings.Contains(r.stderr, "--http") {
		t.Errorf("broker --detached --http: %s\nwant exit status 2 naming --http", r)
	}
	if msg := m.mustFail("broker", "--http", "0.0.0.0:0"); !strings.Contains(msg, "--tls-cert") {
		t.Errorf("broker --http 0.0.0.0:0: %q, want it to ask for --tls-cert", msg)
	}
	// The refused face started no broker: the mesh port is still free.
	ln, err := net.Listen("tcp", m.addr())
	if err != nil {
		t.Fatalf("the mesh port after a refused face: %v", err)
	}
	ln.Close()

	p, base := m.startBrokerFace()
	if pid := m.status().Broker.PID; pid != p.pid() {
		t.Fatalf("status names broker pid %d, want the broker --http process, %d", pid, p.pid())
	}
	m.mustRun("register", "builder")
	key := strings.TrimSpace(m.mustRun("key", "create", "human").stdout)
	c := &http.Client{Timeout: runTimeout}
	if code := api(t, c, "POST", base+"/api/v1/messages", key, map[string]string{"to": "builder", "content": "through the broker's face"}, nil); code != http.StatusCreated {
		t.Fatalf("send: status %d, want 201", code)
	}
	got := m.check("--as", "builder")
	if len(got.Messages) != 1 || got.Messages[0].From != "human" || got.Messages[0].Content != "through the broker's face" {
		t.Fatalf("builder's check = %+v", got.Messages)
	}
	if p.stopAsCtrlC(runTimeout) {
		p.waitLine(p.stdout, "handing over and stopping", startTimeout)
	}
}

func TestServeRefusesPlainHTTPOffLoopback(t *testing.T) {
	m := newMesh(t)
	msg := m.mustFail("serve", "--http", "0.0.0.0:0")
	for _, want := range []string{"--tls-cert", "--insecure"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %s", msg, want)
		}
	}
	if r := m.run("serve", "--http", "127.0.0.1:0", "--tls-cert", "x.pem"); r.code != 2 || !strings.Contains(r.stderr, "--tls-key") {
		t.Errorf("a certificate without a key: %s", r)
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key into dir and
// returns their paths and a pool that trusts it.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	c := testbin.SelfSigned(t, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	certFile, keyFile = c.Write(t, dir, "face")
	return certFile, keyFile, c.Pool()
}

func TestServeTLS(t *testing.T) {
	m := newMesh(t)
	certFile, keyFile, pool := selfSigned(t, t.TempDir())
	_, base := m.startServe("--http", "127.0.0.1:0", "--tls-cert", certFile, "--tls-key", keyFile)
	if !strings.HasPrefix(base, "https://") {
		t.Fatalf("served at %s, want https", base)
	}
	c := &http.Client{Timeout: runTimeout, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	if code := api(t, c, "GET", base+"/health", "", nil, nil); code != 200 {
		t.Fatalf("/health over TLS: %d", code)
	}
	plain := &http.Client{Timeout: runTimeout}
	if code := api(t, plain, "GET", "http"+strings.TrimPrefix(base, "https")+"/health", "", nil, nil); code == 200 {
		t.Error("plain HTTP was served on the TLS port")
	}
}

// The holder of a leaked key revokes it by the key itself, the one thing
// they have at hand, and the key is never repeated in what the command
// prints.
func TestKeyRevokeByTheKey(t *testing.T) {
	m := newMesh(t)
	m.startBroker()
	key := strings.TrimSpace(m.mustRun("key", "create", "human").stdout)
	m.mustRun("key", "create", "human", "--label", "other")

	if r := m.run("key", "revoke", key[:len(key)-3]); r.code != 2 || strings.Contains(r.stdout+r.stderr, key[:len(key)-3]) || !strings.Contains(r.stderr, "whole") {
		t.Errorf("key revoke with a key cut short: %s\nwant exit status 2, saying so without repeating it", r)
	}
	r := m.mustRun("key", "revoke", " "+key+"\n")
	id := strings.Split(key, "_")[1]
	if strings.Contains(r.stdout+r.stderr, key) || !strings.Contains(r.stdout, "revoked key "+id+" of human") {
		t.Errorf("key revoke KEY: %s\nwant it to revoke key %s, without repeating the key", r, id)
	}
	var keys []struct {
		ID      string `json:"id"`
		Revoked string `json:"revoked"`
	}
	m.mustJSON(&keys, "key", "list", "--json")
	for _, k := range keys {
		if (k.ID == id) != (k.Revoked != "") {
			t.Errorf("key list = %+v, want only %s revoked", keys, id)
		}
	}
	// Again, by the key or its id: it was revoked already, which is said
	// as such, not as a name no key acts as.
	for _, arg := range []string{key, id} {
		if msg := m.mustFail("key", "revoke", arg); !strings.Contains(msg, "key "+id+" of human was revoked already") || strings.Contains(msg, "acts as") {
			t.Errorf("key revoke of a revoked key says %q", msg)
		}
	}
}

// A bad --allow-origin is a usage error in the words of the flag, given
// before anything is started, as for the face's other flags.
func TestServeRefusesBadOrigins(t *testing.T) {
	m := newMesh(t)
	for _, o := range []string{"*", "example.com", "https://example.com/app"} {
		for _, cmd := range []string{"serve", "broker"} {
			r := m.run(cmd, "--http", "127.0.0.1:0", "--allow-origin", o)
			if r.code != 2 || !strings.Contains(r.stderr, "--allow-origin") || strings.Contains(r.stderr, "AllowOrigins") || strings.Contains(r.stdout, "serving") {
				t.Errorf("%s --allow-origin %q: %s\nwant exit status 2 naming the flag, nothing served", cmd, o, r)
			}
		}
	}
}
