package gateway

import (
	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/ipc"
)

// The face remembers which keys the broker said were live, so that a
// request needs no round trip to the broker to check its key. A name's
// peer hears every revocation of the name's keys (the broker pushes
// key_revoked to the name's connections, and answers the revoke once the
// face has said it forgot the key: see session.forgot), so
// a key stays remembered only in the session of its name, and only while
// that peer can hear: the memory is dropped when a revocation arrives,
// when the peer's connection is lost or made anew (a push may have been
// missed in between), when the name leaves the mesh for being idle, and
// never kept from a broker in cluster mode, where a key revoked at
// another host's broker is pushed here only once it reaches this host,
// after the revoke was answered. A key the face does not
// remember is checked with the broker, as before.

// keyTicket is taken before a key is checked with the broker: the answer
// may be remembered only if nothing that could revoke the key unseen
// happened in between.
type keyTicket struct {
	sess  *session
	epoch uint64
}

// liveKey returns the record of the key with id, which is bound to name,
// if the face may trust it without asking the broker.
func (m *sessions) liveKey(name, id string) (ipcmesh.AccessKey, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	sess := m.byName[name]
	if sess == nil || !sess.canVouch() {
		return ipcmesh.AccessKey{}, false
	}
	k, ok := sess.live[id]
	return k, ok
}

// keyTicket returns a ticket for a check of a key bound to name; its zero
// value when name's peer cannot vouch for keys now.
func (m *sessions) keyTicket(name string) keyTicket {
	m.mu.Lock()
	defer m.mu.Unlock()
	sess := m.byName[name]
	if sess == nil || !sess.canVouch() {
		return keyTicket{}
	}
	return keyTicket{sess: sess, epoch: sess.epoch}
}

// rememberKey keeps k, which the broker said was live after t was taken,
// unless t is stale.
func (m *sessions) rememberKey(t keyTicket, k ipcmesh.AccessKey) {
	if t.sess == nil || k.Name != t.sess.name {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	sess := t.sess
	if m.byName[sess.name] != sess || sess.epoch != t.epoch || !sess.canVouch() {
		return
	}
	if sess.live == nil {
		sess.live = map[string]ipcmesh.AccessKey{}
	}
	sess.live[k.ID] = k
}

// canVouch reports whether sess's peer hears every revocation of the
// name's keys now. m.mu is held.
func (sess *session) canVouch() bool {
	return sess.ok && sess.lost == nil && sess.hears && sess.peer.Name() == sess.name
}

// forgetKeysLocked drops what sess remembers and makes outstanding
// tickets stale. m.mu is held.
func (sess *session) forgetKeysLocked() {
	sess.epoch++
	clear(sess.live)
}

// onConnection is told when the name's peer loses its connection and when
// a new one serves: a key_revoked pushed in between was missed. A peer
// that found no session to resume on the new connection (it expired, or
// was ended while the peer was away) acts as no name: its streams would
// hear nothing more, so the session ends now, not at the next request.
func (sess *session) onConnection(b ipc.BrokerInfo, up bool) {
	m := sess.m
	m.mu.Lock()
	sess.forgetKeysLocked()
	sess.hears = up && !b.Cluster
	if up && sess.ok && sess.peer != nil && sess.peer.Name() != sess.name {
		m.loseLocked(sess, sessionEnded(sess.name, "while the face's connection to the broker was made anew"))
	}
	m.mu.Unlock()
	if up {
		// A message pushed while the connection was down was missed too:
		// waiting checks read the inbox again.
		sess.wakeWaiters()
	}
}
