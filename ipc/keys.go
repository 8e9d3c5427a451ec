package ipc

import "time"

// The ops of access keys: bearer keys for the HTTP face, each bound to one
// name. Keys are kept by the broker, so a key made on any machine of the
// mesh works at every HTTP face and revoking it anywhere ends it
// everywhere. Like status and backup, these ops need the secret but no
// name: whoever holds the secret may act as anyone already.
const (
	OpKeyCreate = "key_create" // make a key for a name
	OpKeyCheck  = "key_check"  // who a key acts as, if it is valid and not revoked
	OpKeyRevoke = "key_revoke" // revoke a key by id, or every key of a name
	OpKeyList   = "key_list"   // every key, without its secret part
)

// EventKeyRevoked tells the connections of a name that one of its keys was
// revoked, so an HTTP face can end the streams opened with it at once. Its
// body is a KeyInfo.
const EventKeyRevoked = "key_revoked"

// KeyInfo describes an access key. The key itself is shown once, at
// creation, and never stored.
type KeyInfo struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	Label   string    `json:"label,omitempty"`
	Created time.Time `json:"created"`
	Revoked time.Time `json:"revoked,omitzero"`
}

// KeyCreateRequest asks for a new key that acts as Name.
type KeyCreateRequest struct {
	Name  string `json:"name"`
	Label string `json:"label,omitempty"`
}

// KeyCreateResult carries the new key, the only time it is ever sent.
type KeyCreateResult struct {
	Key  string  `json:"key"`
	Info KeyInfo `json:"info"`
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

// KeyRevokeResult lists the keys revoked by the request.
type KeyRevokeResult struct {
	Revoked []KeyInfo `json:"revoked"`
}

// KeyListResult lists every key, revoked ones included.
type KeyListResult struct {
	Keys []KeyInfo `json:"keys"`
}
