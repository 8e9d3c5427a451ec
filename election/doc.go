// Package election makes a process a peer of the mesh: it binds the mesh
// port and hosts the broker, or joins the broker that holds it, and when
// that broker goes away it races the other peers to take its place.
//
// A Peer hides all of that behind Call and its typed methods: api.go holds
// those of mail, sessions and the broker, collab.go those of channels,
// history, threads, shared data, search and status lines, keys.go those of
// access keys. Requests that were in flight when a broker was lost are sent
// again, with the same ids, to the next one, which drops the duplicates.
// The session is resumed on every new broker, so a caller sees a short
// pause, not an error.
package election
