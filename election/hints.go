package election

import (
	"context"

	"github.com/ipcmesh/ipcmesh"
)

// Unregistered reports whether no instance is registered as name now,
// with the registered names nearest to it. A result that found nothing
// from or with a mistyped name would otherwise read as a quiet inbox or
// an empty conversation, and a wait for its mail would wait in vain: the
// faces say so. It reports false when the list cannot be had: the hint
// is a courtesy.
func (p *Peer) Unregistered(ctx context.Context, name string) (near []string, unknown bool) {
	all, err := p.List(ctx)
	if err != nil {
		return nil, false
	}
	known := make([]string, 0, len(all))
	for _, in := range all {
		if in.Name == name {
			return nil, false
		}
		known = append(known, in.Name)
	}
	return ipcmesh.NearNames(name, known, 3), true
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
