package ipcmesh

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

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
	// Type says what the message is for (see Types); "" is a plain message.
	Type string `json:"type,omitempty"`
	// ReplyTo is the id of the message this one answers, and Thread the id
	// of the first message of its thread (set whenever ReplyTo is).
	ReplyTo string `json:"reply_to,omitempty"`
	Thread  string `json:"thread,omitempty"`
	// Channel is set on a channel post: the normalised channel name, with To
	// "#" + Channel.
	Channel string `json:"channel,omitempty"`
	// Shared names a shared-data key the message points at, so the bulk
	// need not travel in the message.
	Shared string `json:"shared,omitempty"`
}

// CheckContent refuses the body of a message that holds no text: empty,
// or only whitespace (spaces, tabs, line breaks). what names the message
// for the error, as in "the message to \"reviewer\"" or "the broadcast".
// A blank body reaches its reader as nothing at all, which is almost
// always a mistake of its sender (an unset variable, an empty file or
// command output) that the reader cannot tell from a message lost.
func CheckContent(what, content string) error {
	switch {
	case content == "":
		return Errorf(CodeBadRequest, "%s is empty: give it some content", what)
	case Blank(content):
		bytes := "bytes"
		if len(content) == 1 {
			bytes = "byte"
		}
		return Errorf(CodeBadRequest, "%s holds only whitespace (%d %s of spaces, tabs or line breaks): give it some content", what, len(content), bytes)
	}
	return nil
}

// NotUTF8 is the offset of the first byte of s that is not UTF-8, -1 if
// there is none. The mesh carries text in JSON, whose decoders put U+FFFD
// in place of such a byte: a refusal of text in another encoding (Latin-1,
// say) names the byte instead of storing the text changed.
func NotUTF8(s string) int {
	if utf8.ValidString(s) {
		return -1
	}
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return -1
}

// Blank reports whether content breaks CheckContent's rule: a caller on a
// hot path (the broker's send) asks it before it spends an allocation on
// the words of CheckContent's error.
func Blank(content string) bool { return strings.TrimSpace(content) == "" }

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
	// Status is a short line the instance set about what it is doing, and
	// Description what it is for.
	Status      string `json:"status,omitempty"`
	Description string `json:"description,omitempty"`
}

// Channel is a named room: posts to it reach every member.
type Channel struct {
	Name        string    `json:"name"` // normalised, without '#'
	Description string    `json:"description,omitempty"`
	Private     bool      `json:"private,omitempty"`
	CreatedBy   string    `json:"created_by"`
	Created     time.Time `json:"created"`
	Members     []string  `json:"members"` // sorted
	Messages    int       `json:"messages"`
	LastActive  time.Time `json:"last_active,omitzero"` // zero, and left out, before the first post
}

// Shared is a piece of content stored under a key for any instance to get.
type Shared struct {
	Key         string    `json:"key"`
	Description string    `json:"description,omitempty"`
	Size        int       `json:"size"`
	StoredBy    string    `json:"stored_by"`
	Time        time.Time `json:"time"`
	// Content is only filled by get_shared.
	Content string `json:"content,omitempty"`
}

// The message types. TypeMessage is the default and is stored as "".
const (
	TypeMessage  = "message"
	TypeRequest  = "request"
	TypeResponse = "response"
	TypeStatus   = "status"
	TypeHandoff  = "handoff"
	TypeDone     = "done"
)

// Types lists the message types in the order they are documented.
func Types() []string {
	return []string{TypeMessage, TypeRequest, TypeResponse, TypeStatus, TypeHandoff, TypeDone}
}

// ValidateType reports whether t is a message type; "" is the default.
func ValidateType(t string) error {
	if t == "" {
		return nil
	}
	for _, v := range Types() {
		if t == v {
			return nil
		}
	}
	e := Errorf(CodeBadRequest, "message type %q is not one of %s", truncate(t, 40), strings.Join(Types(), ", "))
	if near := Closest(t, Types()); near != "" {
		e.Message += fmt.Sprintf(": did you mean %s?", near)
	}
	return e
}
