package ipc

import "github.com/ipcmesh/ipcmesh"

// KeyCreateRequest asks for a new key that acts as Name. Label is one short
// line of plain text. ID, if given, is the key's id, made by the client
// (auth.NewAccessKeyID) so that a request sent again after a lost
// connection is answered with the key the first one made, not a second
// key nobody holds; without it the broker makes one.
type KeyCreateRequest struct {
	Name  string `json:"name"`
	Label string `json:"label,omitempty"`
	ID    string `json:"id,omitempty"`
	// StopKey is the broker's stop key (StopRequest), which only who can
	// read the broker's data folder knows. The secret admits peers of
	// other hosts and users too, and a key they made would let them act,
	// at the HTTP face, as a name whose session they could not claim.
	StopKey string `json:"stop_key,omitempty"`
}

// KeyCreateResult carries the new key, the only time it is ever sent.
type KeyCreateResult struct {
	Key  string            `json:"key"`
	Info ipcmesh.AccessKey `json:"info"`
}

// KeyCheckRequest asks who Key acts as.
type KeyCheckRequest struct {
	Key string `json:"key"`
}

// KeyRevokeRequest revokes the key with ID, or every key of Name.
type KeyRevokeRequest struct {
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
	// StopKey is the broker's stop key, as KeyCreateRequest's: a peer
	// that only knows the secret cannot lock the owner's key holders out.
	StopKey string `json:"stop_key,omitempty"`
}

// KeySeenRequest names a key a connection was told was revoked, and has
// forgotten.
type KeySeenRequest struct {
	ID string `json:"id"`
}

// KeyRevokeResult lists the keys revoked by the request.
type KeyRevokeResult struct {
	Revoked []ipcmesh.AccessKey `json:"revoked"`
}

// KeyListResult lists every key, revoked ones included.
type KeyListResult struct {
	Keys []ipcmesh.AccessKey `json:"keys"`
}
