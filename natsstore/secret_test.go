package natsstore_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/natsmesh"
	"github.com/ipcmesh/ipcmesh/natsstore"
	"github.com/ipcmesh/ipcmesh/store"
)

// openErr opens a store that is expected to be refused, and returns why.
func openErr(t *testing.T, o natsstore.Options) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := natsstore.Open(ctx, o, nil)
	if err == nil {
		s.Close()
		t.Fatalf("Open with the secret tag %q succeeded; want it refused", o.SecretTag)
	}
	return err
}

// A host whose broker has another shared secret than the mesh's (one not
// given IPC_SHARED_SECRET, which makes a secret of its own) is refused
// when it opens: it would take the names of the other hosts' instances.
// The secret is changed on purpose with NewSecret, once the other hosts'
// brokers are stopped; from then on the old one is refused.
func TestAnotherSecretIsRefused(t *testing.T) {
	p := natsmesh.Prefix(t, &shared)
	withTag := func(tag string) func(*natsstore.Options) {
		return func(o *natsstore.Options) { o.SecretTag = tag }
	}
	a := openHost(t, p, withTag("aaaa0001"))
	openHost(t, p, withTag("aaaa0001")) // the same secret on another host

	other := natsstore.Options{URL: shared.Get(t).URL(), Prefix: p, SecretTag: "bbbb0002", Store: store.Options{Dir: t.TempDir()}}
	err := openErr(t, other)
	var refused *natsstore.OtherSecretError
	if !errors.As(err, &refused) {
		t.Fatalf("Open with another secret: %v; want an *OtherSecretError", err)
	}
	for _, want := range []string{"another shared secret", "IPC_SHARED_SECRET", "--new-secret", a.opts.Store.Dir} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the refusal %q does not say %q", err, want)
		}
	}

	// Changing it while host A's broker holds a name is refused, naming it.
	if err := a.Claim(context.Background(), "builder"); err != nil {
		t.Fatal(err)
	}
	other.NewSecret = true
	err = openErr(t, other)
	if errors.As(err, &refused) || !strings.Contains(err.Error(), "builder") || !strings.Contains(err.Error(), "stop them first") {
		t.Fatalf("a new secret while another host holds builder: %v; want it refused, naming builder and what to do", err)
	}

	a.Release("builder")
	eventually(t, "the name released", func() bool { return !a.Held("builder") })
	reopen(t, other) // the new secret, recorded
	old := natsstore.Options{URL: shared.Get(t).URL(), Prefix: p, SecretTag: "aaaa0001", Store: store.Options{Dir: t.TempDir()}}
	if err := openErr(t, old); !errors.As(err, &refused) {
		t.Fatalf("the secret before, once changed: %v; want an *OtherSecretError", err)
	}
	other.NewSecret = false
	other.Store.Dir = t.TempDir()
	reopen(t, other) // a host given the new secret joins
}
