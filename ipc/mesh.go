package ipc

import (
	"context"
	"slices"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/store"
)

// These are the broker's few decisions that change when its store is a Mesh
// shared with the brokers of other hosts: who is online, who may take a
// name, and what to push of the mail that other brokers stored.

// online reports whether a connection acts as name here or, in a mesh, on
// any broker.
func (b *Broker) online(name string) bool {
	return b.presence.isOnline(name) || b.mesh != nil && b.mesh.Held(name)
}

// onlineNames returns every name online here or, in a mesh, anywhere, sorted.
func (b *Broker) onlineNames() []string {
	names := b.presence.names()
	if b.mesh == nil {
		return names
	}
	names = append(names, b.mesh.Holders()...)
	slices.Sort(names)
	return slices.Compact(names)
}

// inUse refuses a name a connection acts as, here or on another host.
func (b *Broker) inUse(name string) error {
	switch {
	case b.presence.isOnline(name):
		return b.nameTaken(name, "is in use by a connected instance")
	case b.mesh != nil && b.mesh.Held(name):
		return b.nameTaken(name, elsewhere)
	}
	return nil
}

const elsewhere = "is in use by an instance connected to the broker of another host"

// claim holds name mesh-wide before a connection here acts as it, so that
// two hosts can never both decide a name is free: the mesh settles it with
// one compare-and-set. On one host the broker's own lock does that.
func (b *Broker) claim(ctx context.Context, name string) error {
	if b.mesh == nil {
		return nil
	}
	if err := b.mesh.Claim(ctx, name); err != nil {
		if ipcmesh.CodeOf(err) == ipcmesh.CodeNameTaken {
			return b.nameTaken(name, elsewhere)
		}
		return err
	}
	return nil
}

// decideCtx returns the context of a request that decides a name under
// b.names. In a mesh it ends a write timeout after the request was taken,
// its wait for b.names included. Such a request waits for the cluster to
// take the name and to store the session, and the requests queued behind
// it wait for it: with the cluster out of quorum, each waited a write
// timeout of its own, and the second in line was past what its client
// waits (a write timeout and 10 s more), which told its person that the
// broker did not answer and to kill it, rather than that the cluster had
// no quorum. One that gets b.names when its time is up fails at once,
// with the cluster's unavailable.
func (b *Broker) decideCtx(c *conn) (context.Context, context.CancelFunc) {
	if b.mesh == nil {
		return c.ctx, func() {}
	}
	return context.WithTimeout(c.ctx, b.mesh.WriteTimeout())
}

// release gives the name back to the mesh once no connection here acts as it.
func (b *Broker) release(name string) {
	if b.mesh != nil && !b.presence.isOnline(name) {
		b.mesh.Release(name)
	}
}

// revokedElsewhere tells the connections here of the keys another broker
// revoked, as keyRevoke tells those of its own, so that a face on this
// host ends the streams and requests opened with them. Nothing waits for
// the face's key_seen: a face in cluster mode remembers no key
// (BrokerInfo.Cluster) and checks each request's with the broker, so only
// what it had opened already used the key.
func (b *Broker) revokedElsewhere(keys []ipcmesh.AccessKey) {
	for _, k := range keys {
		b.log.Info("access key revoked on another host", "id", k.ID, "name", k.Name)
		for _, sub := range b.presence.subscribers(k.Name) {
			sub.event(EventKeyRevoked, k)
		}
	}
}

// arrived pushes the messages another broker stored to the connections here,
// and wakes the checks waiting for them, as send and post do for their own.
func (b *Broker) arrived(ds []store.Delivery) {
	for _, d := range ds {
		if d.Err != nil {
			continue
		}
		m := d.Message
		if m.Channel == "" {
			b.push(m)
			b.presence.notify(m.To)
		} else if ch, ok, err := b.store.Channel(m.Channel); err == nil && ok {
			for _, member := range ch.Members {
				if member == m.From {
					continue
				}
				for _, s := range b.presence.subscribers(member) {
					s.event(EventMessage, m)
				}
				b.presence.notify(member)
			}
		}
		if m.Thread != "" {
			b.presence.notifyThread(m.Thread)
		}
	}
}
