package natsstore

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

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

// A server that refuses the broker's credentials is named as such, with
// the settings that carry them.
func TestRefusedCredentialsAreNamed(t *testing.T) {
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, Authorization: "the-right-token", NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	go srv.Start()
	t.Cleanup(srv.Shutdown)
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("the NATS server did not start")
	}
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
