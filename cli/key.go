package cli

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/auth"
	"github.com/ipcmesh/ipcmesh/election"
	"github.com/ipcmesh/ipcmesh/internal/human"
	"github.com/ipcmesh/ipcmesh/internal/untrusted"
)

// runKey manages the bearer keys of the HTTP face. A key acts as one name,
// so a person or a remote assistant given a key can speak as that name and
// nobody else; the key is printed once and never stored.
func runKey(ctx context.Context, e Env, args []string) (err error) {
	sub, rest := "", args
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		sub, rest = args[0], args[1:]
	}
	c := onMesh(strings.TrimSpace("key " + sub))
	label := c.String("label", "", "create: `L`, a note on who the key is for")
	asJSON := c.Bool("json", false, "print the result as JSON")
	p, pos, err := c.open(ctx, e, rest, func(pos []string) error {
		want := map[string]int{"create": 1, "list": 0, "revoke": 1}
		n, ok := want[sub]
		switch {
		case sub == "":
			return usagef("say what to do: create NAME, list or revoke ID|KEY|NAME")
		case !ok:
			return usagef("unknown key command %q: want create, list or revoke", sub)
		}
		if len(pos) != n {
			return keyArgs(sub, pos)
		}
		return nil
	})
	if err != nil {
		return err
	}
	defer closeAll(p, &err)
	switch sub {
	case "create":
		r, err := p.CreateKey(ctx, pos[0], *label)
		if err != nil {
			return err
		}
		if *asJSON {
			return printJSON(e.Stdout, r)
		}
		fmt.Fprintln(e.Stdout, r.Key)
		fmt.Fprintf(e.Stderr, "This key acts as %s (id %s). It is shown only now: keep it like a password.\nRevoke it with: ipcmesh key revoke %s\n", r.Info.Name, r.Info.ID, r.Info.ID)
		if near := p.NearRegistered(ctx, r.Info.Name); len(near) > 0 {
			// A key for a name not registered yet is as it should be
			// (its holder registers on first use), but one a typo or a
			// capital away from a registered name was most likely meant
			// for that name: its holder would act as a stranger.
			fmt.Fprintf(e.Stderr, "warning: no instance is registered as %s, and %s is: if the key is meant for %s, revoke this one (ipcmesh key revoke %s) and run 'ipcmesh key create %s'\n", r.Info.Name, near[0], near[0], r.Info.ID, near[0])
		}
		return nil
	case "revoke":
		revoked, err := revokeKeys(ctx, p, pos[0])
		if err != nil {
			return err
		}
		if *asJSON {
			return printJSON(e.Stdout, revoked)
		}
		for _, k := range revoked {
			fmt.Fprintf(e.Stdout, "revoked key %s of %s\n", k.ID, k.Name)
		}
		return nil
	}
	keys, err := p.Keys(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(e.Stdout, keys)
	}
	if len(keys) == 0 {
		fmt.Fprintln(e.Stdout, "No access keys yet: ipcmesh key create NAME")
		return nil
	}
	now := time.Now()
	tw := tabwriter.NewWriter(e.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tCREATED\tSTATE\tLABEL")
	for _, k := range keys {
		state := "live"
		if !k.Revoked.IsZero() {
			state = "revoked " + human.Ago(k.Revoked, now)
		}
		// untrusted.Line: a label stored before labels were checked may
		// hold an escape sequence.
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.ID, k.Name, human.Ago(k.Created, now), state, untrusted.Line(k.Label))
	}
	return tw.Flush()
}

// revokeKeys revokes the key with id arg, or every key of the name arg. A
// name that looks like an id is taken as a name when no key has that id.
// The key itself, which is what the holder of a leaked one has at hand,
// revokes its id; it is never repeated in an error, which may end up in
// a log or on a shared screen.
func revokeKeys(ctx context.Context, p *election.Peer, arg string) ([]ipcmesh.AccessKey, error) {
	if k := strings.TrimSpace(arg); strings.HasPrefix(k, auth.AccessKeyPrefix) {
		id, err := auth.AccessKeyID(k)
		if err != nil {
			return nil, usagef("the argument starts as an access key (%s...) but is not a whole one: give the whole key, or its id, which ipcmesh key list shows", auth.AccessKeyPrefix)
		}
		arg = id
	}
	if auth.IsAccessKeyID(arg) {
		revoked, err := p.RevokeKeys(ctx, arg, "")
		if ipcmesh.CodeOf(err) != ipcmesh.CodeNotFound {
			return revoked, err
		}
		// A key revoked before is named as such, rather than taken for a
		// name that no key acts as.
		if k, ok := revokedKey(ctx, p, arg); ok {
			return nil, ipcmesh.Errorf(ipcmesh.CodeNotFound, "key %s of %s was revoked already, %s: it stays revoked, and nothing more was done",
				k.ID, k.Name, human.Ago(k.Revoked, time.Now()))
		}
		if ipcmesh.ValidateName(arg) != nil {
			return nil, err
		}
	}
	if ipcmesh.ValidateName(arg) != nil {
		return nil, ipcmesh.Errorf(ipcmesh.CodeNotFound, "%q is neither a key id nor a name: ipcmesh key list shows the keys", arg)
	}
	return p.RevokeKeys(ctx, "", arg)
}

// revokedKey returns the record of the revoked key with id, if the mesh
// has one.
func revokedKey(ctx context.Context, p *election.Peer, id string) (ipcmesh.AccessKey, bool) {
	keys, err := p.Keys(ctx)
	if err != nil {
		return ipcmesh.AccessKey{}, false
	}
	for _, k := range keys {
		if k.ID == id && !k.Revoked.IsZero() {
			return k, true
		}
	}
	return ipcmesh.AccessKey{}, false
}

// keyArgs refuses key SUB given too many or too few arguments, saying
// what it takes, as the other commands' refusals do.
func keyArgs(sub string, pos []string) error {
	switch {
	case sub == "list":
		return usagef("key list takes no arguments, got %q", strings.Join(pos, " "))
	case len(pos) == 0 && sub == "create":
		return usagef("key create needs the name the key acts as: ipcmesh key create NAME")
	case len(pos) == 0:
		return usagef("key revoke needs what to revoke: a key's ID (ipcmesh key list shows them), the key itself, or a NAME, for all of its keys")
	case sub == "create":
		// The words after the name are most likely a label for it.
		return usagef("key create takes one NAME, got %d words: %q; a label goes with --label: ipcmesh key create %s --label %q", len(pos), strings.Join(pos, " "), pos[0], strings.Join(pos[1:], " "))
	}
	return usagef("key %s takes one argument, got %d: %q", sub, len(pos), strings.Join(pos, " "))
}
