// Package ipc is the mesh's wire protocol, its broker and its client.
//
// A connection carries length-prefixed JSON frames (see frame.go and
// docs/PROTOCOL.md). It opens with a mutual proof of the shared secret, then
// carries many requests at once, each tagged with an id, and pushes events
// from the broker to the client on the same connection.
//
// The broker (Broker) owns the store and decides identity from the session
// bound to a connection, never from a field the client fills in. The client
// (Client) speaks for one connection; surviving the loss of a broker is the
// election package's job.
package ipc
