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
	all, err := p.List(ctx)
	if err != nil {
		return ""
	}
	known := make([]string, 0, len(all))
	for _, in := range all {
		if in.Name == name {
			return ""
		}
		known = append(known, in.Name)
	}
	s := fmt.Sprintf(" No instance is registered as %s now", name)
	if near := ipcmesh.NearNames(name, known, 3); len(near) > 0 {
		s += fmt.Sprintf(": did you mean %s?", strings.Join(near, " or "))
	} else {
		s += "."
	}
	return s + fmt.Sprintf(" (%s shows every name.)", lister)
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
