package election

import (
	"context"
	"fmt"
	"strings"

	"github.com/ipcmesh/ipcmesh"
)

// UnknownName is what a result that found nothing from or with name adds
// when no instance is registered as name now: the names nearest to it,
// and lister, what lists every name in the caller's words ("ipcmesh
// list"). A mistyped name would otherwise read as a quiet inbox or an
// empty conversation, and a wait for its mail would wait in vain. It is
// "" when name is registered, and when the list cannot be had: the hint
// is a courtesy.
func (p *Peer) UnknownName(ctx context.Context, name, lister string) string {
	near, registered, err := p.nearRegistered(ctx, name)
	if err != nil || registered {
		return ""
	}
	s := fmt.Sprintf(" No instance is registered as %s now", name)
	if len(near) > 0 {
		s += fmt.Sprintf(": did you mean %s?", strings.Join(near, " or "))
	} else {
		s += "."
	}
	return s + fmt.Sprintf(" (%s shows every name.)", lister)
}

// NearRegistered returns the registered names likely meant by name, a
// name not registered (ipcmesh.NearNames: a typo, or the name in another
// case), closest first; none when name is registered, and when the list
// cannot be had: like UnknownName, it is a courtesy.
func (p *Peer) NearRegistered(ctx context.Context, name string) []string {
	near, registered, err := p.nearRegistered(ctx, name)
	if err != nil || registered {
		return nil
	}
	return near
}

// CaseTwin returns the registered name, other than name, that differs
// from it only by case; "" when there is none, and when the list cannot
// be had. Names are case-sensitive: Reviewer and reviewer are two
// instances, and one of them taken for the other sends as, and reads the
// mail of, the wrong one.
func (p *Peer) CaseTwin(ctx context.Context, name string) string {
	all, err := p.List(ctx)
	if err != nil {
		return ""
	}
	for _, in := range all {
		if in.Name != name && strings.EqualFold(in.Name, name) {
			return in.Name
		}
	}
	return ""
}

// nearRegistered lists the registered names and returns those near name,
// and whether name itself is registered.
func (p *Peer) nearRegistered(ctx context.Context, name string) (near []string, registered bool, err error) {
	all, err := p.List(ctx)
	if err != nil {
		return nil, false, err
	}
	known := make([]string, 0, len(all))
	for _, in := range all {
		if in.Name == name {
			return nil, true, nil
		}
		known = append(known, in.Name)
	}
	return ipcmesh.NearNames(name, known, 3), false, nil
}

// ChannelNamed returns the channel that name names once a '#' is put
// before it, if there is one this peer may see: a send to name that is
// queued for an instance never registered most likely meant to post
// there. It reports false when the channels cannot be listed.
func (p *Peer) ChannelNamed(ctx context.Context, name string) (string, bool) {
	norm, err := ipcmesh.NormalizeChannel(name)
	if err != nil {
		return "", false
	}
	list, err := p.Channels(ctx, norm)
	if err != nil {
		return "", false
	}
	for _, ch := range list {
		if ch.Name == norm {
			return norm, true
		}
	}
	return "", false
}

// MissingShared reports whether nothing is stored under the shared key
// that a message just sent points at, and the stored key likely meant. The
// mesh lets a message point at a value shared later, but a mistyped key
// leaves its readers nothing to read, and the sender is the one who can
// tell. It is false when key is stored or empty, and when the keys cannot
// be listed: what it feeds is a courtesy.
func (p *Peer) MissingShared(ctx context.Context, key string) (missing bool, near string) {
	if key == "" {
		return false, ""
	}
	list, err := p.ListShared(ctx)
	if err != nil {
		return false, ""
	}
	keys := make([]string, len(list))
	for i, sh := range list {
		if sh.Key == key {
			return false, ""
		}
		keys[i] = sh.Key
	}
	return true, ipcmesh.Closest(key, keys)
}
