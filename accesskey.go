package ipcmesh

import "time"

// AccessKey is the record of a bearer key of the HTTP face: which name it
// acts as, and whether it still may. The key itself is a MAC the broker can
// recompute from the ID and Name; it is shown once, when it is made, and
// never stored, so a copy of the database hands out no keys. The record is
// what the store keeps and what the key ops answer.
type AccessKey struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	Label   string    `json:"label,omitempty"`
	Created time.Time `json:"created"`
	Revoked time.Time `json:"revoked,omitzero"`
}
