package natsstore

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/ipcmesh/ipcmesh/internal/freeport"
	"github.com/ipcmesh/ipcmesh/internal/natstest"
	"github.com/ipcmesh/ipcmesh/store"
)

// A credentials or CA file that is not there is named with its setting,
// before any server is asked: the NATS client's own error names neither.
func TestMissingFilesAreNamedWithTheirSetting(t *testing.T) {
	for _, c := range []struct {
		setting string
		set     func(*Options, string)
	}{
		{"IPC_NATS_CREDS", func(o *Options, f string) { o.Creds = f }},
		{"IPC_NATS_CA", func(o *Options, f string) { o.CA = f }},
	} {
		missing := filepath.Join(t.TempDir(), "missing.file")
		o := Options{URL: "nats://127.0.0.1:1", Store: store.Options{Dir: t.TempDir()}}
		c.set(&o, missing)
		s, err := Open(t.Context(), o, nil)
		if err == nil {
			s.Close()
			t.Fatalf("%s naming a missing file: opened", c.setting)
		}
		for _, want := range []string{c.setting + "=" + missing, "names no file", "or unset it"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s naming a missing file: %v; want it to say %q", c.setting, err, want)
			}
		}
	}
}

// A credentials or CA file of another kind is named with its setting: the
// client's own words were "error signing nonce: unable to extract key pair
// from file ..." and "failed to parse root certificate from ...".
func TestFilesOfAnotherKindAreNamedWithTheirSetting(t *testing.T) {
	srv := natstest.Server(t, server.Options{})
	notIt := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(notIt, []byte("not a credentials file nor a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		setting string
		set     func(*Options)
	}{
		{"IPC_NATS_CREDS", func(o *Options) { o.Creds = notIt }},
		{"IPC_NATS_CA", func(o *Options) { o.CA = notIt }},
	} {
		o := Options{URL: srv.ClientURL(), Store: store.Options{Dir: t.TempDir()}}
		c.set(&o)
		s, err := Open(t.Context(), o, nil)
		if err == nil {
			s.Close()
			t.Fatalf("%s naming a file of another kind: opened", c.setting)
		}
		for _, want := range []string{c.setting + "=" + notIt + " is not", "or unset it"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s naming a file of another kind: %v; want it to say %q", c.setting, err, want)
			}
		}
	}
}

// A server that refuses the broker's credentials is named as such, with
// the settings that carry them.
func TestRefusedCredentialsAreNamed(t *testing.T) {
	srv := natstest.Server(t, server.Options{Authorization: "the-right-token"})
	o := Options{URL: srv.ClientURL(), Token: "a-wrong-token", Store: store.Options{Dir: t.TempDir()}}
	s, err := Open(t.Context(), o, nil)
	if err == nil {
		s.Close()
		t.Fatal("opened with a token the server refuses")
	}
	for _, want := range []string{"refused this broker's credentials", "IPC_NATS_TOKEN"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("a refused token: %v; want it to say %q", err, want)
		}
	}
}

// A password or token written into IPC_STORE is the cluster's key: what a
// broker says of the cluster (its errors, and so its log and the output
// of whoever started it) names the servers without it.
func TestCredentialsInTheURLAreNotShown(t *testing.T) {
	srv := natstest.Server(t, server.Options{Username: "mesh", Password: "the-right-password"})
	hostPort := strings.TrimPrefix(srv.ClientURL(), "nats://")
	for _, c := range []struct{ url, secret string }{
		{"nats://mesh:a-wrong-password@" + hostPort, "a-wrong-password"},
		{"nats://a-wrong-token@" + hostPort, "a-wrong-token"},
		{"nats://mesh:a-wrong-password@" + hostPort + ",nats://127.0.0.1:1", "a-wrong-password"},
	} {
		s, err := Open(t.Context(), Options{URL: c.url, Store: store.Options{Dir: t.TempDir()}}, nil)
		if err == nil {
			s.Close()
			t.Fatalf("%s: opened with credentials the server refuses", c.url)
		}
		if strings.Contains(err.Error(), c.secret) {
			t.Errorf("the refusal of %s shows the secret: %v", c.url, err)
		}
		if !strings.Contains(err.Error(), hostPort) {
			t.Errorf("the refusal of %s does not name the server %s: %v", c.url, hostPort, err)
		}
	}

	_, err := ParseURL("nats://mesh:the-right-password@" + hostPort + ",http://elsewhere")
	if err == nil || strings.Contains(err.Error(), "the-right-password") {
		t.Errorf("ParseURL of a list with a bad URL: %v; want a refusal without the password", err)
	}
}

// A list of servers joined otherwise than by commas is refused as IPC_STORE
// is read, with how to write it: "h1:4222;nats://h2:4222" parsed as one
// server whose host name did not resolve.
func TestServersNotJoinedByCommasAreRefused(t *testing.T) {
	for _, s := range []string{"nats://h1:4222;nats://h2:4222", "nats://h1:4222|nats://h2:4222", "nats://h1:4222/nats://h2:4222", "nats://h1:4222?x=1"} {
		if _, err := ParseURL(s); err == nil || !strings.Contains(err.Error(), "separated by commas") {
			t.Errorf("ParseURL(%q) = %v; want a refusal saying to separate servers by commas", s, err)
		}
	}
	for _, s := range []string{"nats://h1:4222/", "nats://[::1]:4222", "tls://h1", "nats://u:p@h1:4222, nats://h2:4222"} {
		if _, err := ParseURL(s); err != nil {
			t.Errorf("ParseURL(%q): %v; want it taken", s, err)
		}
	}
}

// What Redacted shows of each kind of server list.
func TestRedacted(t *testing.T) {
	for in, want := range map[string]string{
		"nats://mesh:pw@h1:4222, tls://tok@h2:4222,nats://h3:4222": "nats://mesh:xxxxx@h1:4222,tls://xxxxx@h2:4222,nats://h3:4222",
		"nats://h1:4222":        "nats://h1:4222",
		"nats://mesh:p%zz@h1:1": "nats://xxxxx@h1:1", // not a URL: all before the @ is hidden
		"mesh:pw@h1:4222":       "xxxxx@h1:4222",
		"":                      "",
	} {
		if got := Redacted(in); got != want {
			t.Errorf("Redacted(%q) = %q, want %q", in, got, want)
		}
	}
}

// Credentials the cluster refuses are named as such when some of the
// servers listed are down too: the client reports the answer of the last
// server it tried, in an order of its own, and a server that was down
// made it "no server answered", sending the person to start servers that
// were fine.
func TestRefusedCredentialsAreNamedWithAServerDown(t *testing.T) {
	srv := natstest.Server(t, server.Options{Username: "mesh", Password: "the-right-password"})
	down, err := freeport.Pick("127.0.0.1", 3) // nothing listens there
	if err != nil {
		t.Fatal(err)
	}
	urls := []string{srv.ClientURL()}
	for _, p := range down {
		urls = append(urls, fmt.Sprintf("nats://127.0.0.1:%d", p))
	}
	// The client tries the servers in a random order: each open is
	// another order.
	for range 8 {
		o := Options{URL: strings.Join(urls, ","), User: "mesh", Password: "a-wrong-password", Store: store.Options{Dir: t.TempDir()}}
		s, err := Open(t.Context(), o, nil)
		if err == nil {
			s.Close()
			t.Fatal("opened with a password the server refuses")
		}
		if !strings.Contains(err.Error(), "refused this broker's credentials") {
			t.Fatalf("a refused password, with %d of the %d servers down: %v; want it to say the credentials were refused", len(down), len(urls), err)
		}
	}
}

// A host name in IPC_STORE that does not resolve is named as coming from
// there, with what to do: the client's own error was the resolver's
// "lookup X on 10.0.0.53:53: no such host". The names fail on this
// machine: the Go resolver looks up no name under .onion, and the DNS
// server of the other is made unreachable, so no query leaves it.
func TestUnresolvedHostIsNamed(t *testing.T) {
	r := net.DefaultResolver
	preferGo, dial := r.PreferGo, r.Dial
	r.PreferGo, r.Dial = true, func(ctx context.Context, network, address string) (net.Conn, error) {
		return nil, fmt.Errorf("no DNS server for this test (%s)", address)
	}
	t.Cleanup(func() { r.PreferGo, r.Dial = preferGo, dial })
	for _, host := range []string{"nats-1.cluster.onion", "nats-1.cluster.test"} {
		o := Options{URL: "nats://" + host + ":4222", Store: store.Options{Dir: t.TempDir()}}
		s, err := Open(t.Context(), o, nil)
		if err == nil {
			s.Close()
			t.Fatalf("opened with the host name %s, which does not resolve", host)
		}
		for _, want := range []string{fmt.Sprintf("host name %q in IPC_STORE", host), "check its spelling", "IP address"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("the host name %s, which does not resolve: %v; want it to say %q", host, err, want)
			}
		}
	}
}

// IPC_STORE naming a port where no NATS server listens but something else
// does (the mesh's own port, say, which answers only once spoken to) is
// named as such: the client's own words were "read tcp ...: i/o timeout".
func TestServerThatIsNotNATSIsNamed(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		var held []net.Conn // open and silent until the test ends
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	o := Options{URL: "nats://" + ln.Addr().String(), Store: store.Options{Dir: t.TempDir()}}
	s, err := Open(t.Context(), o, nil)
	if err == nil {
		s.Close()
		t.Fatal("opened on a port where no NATS server listens")
	}
	for _, want := range []string{"did not greet it as a NATS server", "IPC_STORE", "IPC_PORT"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("a port that is not a NATS server's: %v; want it to say %q", err, want)
		}
	}
}

// ParseURL reads a scheme in any case and gives it in lower case, leaving
// the rest as written.
func TestParseURLSchemeInAnyCase(t *testing.T) {
	urls, err := ParseURL("NATS://Host-A:4222,Tls://U:Pw@host-b:4222")
	if want := []string{"nats://Host-A:4222", "tls://U:Pw@host-b:4222"}; err != nil || !slices.Equal(urls, want) {
		t.Errorf("ParseURL = %q, %v; want %q", urls, err, want)
	}
	if !IsURL("NATS://h:4222") || !IsURL("tLs://h:4222") {
		t.Error("IsURL does not take a scheme in upper case")
	}
}
