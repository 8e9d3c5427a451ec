package ipcmesh

import (
	"errors"
	"fmt"
	"time"
)

// Code is a stable, machine-readable error code. Codes are part of the wire
// protocol: clients switch on them, so they never change meaning.
type Code string

// The error codes of the mesh. docs/PROTOCOL.md lists them with what a client
// should do about each.
const (
	CodeBadRequest    Code = "bad_request"    // malformed frame, JSON or arguments
	CodeUnknownOp     Code = "unknown_op"     // an op this broker does not know
	CodeUnsupported   Code = "unsupported"    // no protocol version in common
	CodeUnauthorized  Code = "unauthorized"   // handshake failed, or the session token is bad, expired or revoked
	CodeNotRegistered Code = "not_registered" // the op needs a registered name on this connection
	CodeRateLimited   Code = "rate_limited"   // slow down; RetryAfter says for how long
	CodeNameTaken     Code = "name_taken"     // the name is held by someone else; Suggestions are free
	CodeInvalidName   Code = "invalid_name"   // the name breaks the naming rule
	CodeTooLarge      Code = "too_large"      // the message or frame is over the limit
	CodeNotFound      Code = "not_found"      // no such message, instance or file
	CodeInboxFull     Code = "inbox_full"     // the recipient's inbox is at its cap
	CodeConflict      Code = "conflict"       // an id was reused for a different request
	CodeRenameLoop    Code = "rename_loop"    // the rename would make a forwarding cycle
	CodeRenamed       Code = "renamed"        // the name was renamed away and is forwarded; Suggestions[0] is its new name
	CodeShuttingDown  Code = "shutting_down"  // the broker is handing over; retry on the next one
	CodeUnavailable   Code = "unavailable"    // the store cannot take writes now (a cluster without quorum); resend later with the same id
	CodeInternal      Code = "internal"       // a fault of the broker; the message says what
)

// Error is an error with a stable code and a message a person can act on.
// It is what the broker sends and what a client returns to its caller.
type Error struct {
	Code    Code   `json:"code"`
	Message string `json:"message"`
	// RetryAfterMS is set with rate_limited: wait this long before retrying.
	RetryAfterMS int64 `json:"retry_after_ms,omitempty"`
	// Suggestions holds free names (name_taken) or near names (typos).
	Suggestions []string `json:"suggestions,omitempty"`
}

func (e *Error) Error() string { return e.Message }

// RetryAfter is RetryAfterMS as a duration.
func (e *Error) RetryAfter() time.Duration { return time.Duration(e.RetryAfterMS) * time.Millisecond }

// RateLimited is the answer to a request a rate limit refused, why saying
// which limit (and the message telling how long to wait): the wait is in
// whole milliseconds, rounded up and at least 1. Rounded down, a wait
// under a millisecond would ask for none (and, being 0, drop the field
// from the answer): a client that waits as told would come back before
// its turn, into the same refusal.
func RateLimited(why string, retry time.Duration) *Error {
	ms := max(1, int64((retry+time.Millisecond-1)/time.Millisecond))
	return &Error{Code: CodeRateLimited, Message: fmt.Sprintf("%s; retry in %d ms", why, ms), RetryAfterMS: ms}
}

// Errorf returns an *Error with code and a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// CodeOf returns the code of the first *Error in err's chain, or "" if there
// is none.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}
