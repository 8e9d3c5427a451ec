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
