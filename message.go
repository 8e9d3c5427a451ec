package ipcmesh

import "time"

// Message is one message as its recipient sees it. Every message has exactly
// one recipient: a broadcast is stored as one message per recipient, so read
// state is never shared.
type Message struct {
	// ID is chosen by the sender's client and is unique per message; a retry
	// after a failover carries the same ID, which is how duplicates are caught.
	ID string `json:"id"`
	// Seq orders messages: it grows with every message the store accepts.
	Seq  uint64    `json:"seq"`
	From string    `json:"from"`
	To   string    `json:"to"`
	Time time.Time `json:"time"`
	// SentTo is the name the sender used when the message was forwarded to
	// To after a rename; empty otherwise.
	SentTo string `json:"sent_to,omitempty"`
	// Broadcast is set on each recipient's copy of a broadcast.
	Broadcast bool `json:"broadcast,omitempty"`
	// Content is the whole body, or a short summary when Large is set.
	Content string `json:"content"`
	// Size is the length of the whole body in bytes.
	Size int `json:"size"`
	// Large marks a body that was spilled to a file: Path holds it, and the
	// fetch op returns it whole.
	Large bool   `json:"large,omitempty"`
	Path  string `json:"path,omitempty"`
}

// Instance is a registered name as list shows it.
type Instance struct {
	Name string `json:"name"`
	// Online is true while at least one connection acts as this name.
	Online bool `json:"online"`
	// LastSeen is when the instance last used the mesh.
	LastSeen   time.Time `json:"last_seen"`
	Registered time.Time `json:"registered"`
	// Unread counts the messages waiting in its inbox.
	Unread int `json:"unread"`
}
