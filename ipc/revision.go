package ipc

import (
	"fmt"

	"github.com/ipcmesh/ipcmesh"
)

// Revision numbers what a broker of protocol Version honours beyond what
// the version began with. A broker decodes a request leniently (see
// decode), so one older than a request field ignores it and answers as if
// it were unset: a check from one sender comes back with everyone's mail,
// and marks it read. The protocol version cannot tell such brokers apart,
// as they all speak version 1; the revision does. A broker says its own
// in BrokerInfo; one that says none is older than revision 1. The client
// refuses to send a field to a broker of a lower revision than the field
// (see newerField) rather than take its wrong answer.
//
// Revision 1 added CheckRequest's From and After, HistoryRequest's After,
// Since and Until, and SetStatusRequest's KeepDescription. Revision 2
// added SearchRequest's Before. Revision 3 added the Part of
// FetchRequest and GetSharedRequest: an older broker answers the whole
// content, of which the client keeps the part (see olderAnswer).
// Revision 4 added the cancel op, which the client sends to a broker of
// revision 4 or later alone (see Client.callOff). Revision 5 added the
// stop op, which an older broker answers unknown_op. Revision 6 added
// ChannelLeaveResult's NotMember: an older broker answers every leave
// alike, which the client takes as left; and BrokerInfo's MaxFrame, which
// an older broker does not say, so that only the client's own frame limit
// holds.
const Revision = 6

// newerField names the first field set in the request in that a
// broker of revision rev would ignore, and says what it would do instead;
// "" when the broker honours all that is set.
func newerField(rev int, in any) (field, instead string) {
	if rev >= 2 {
		return "", ""
	}
	switch r := in.(type) {
	case SearchRequest:
		return newerSearch(r)
	case *SearchRequest:
		return newerSearch(*r)
	}
	if rev >= 1 {
		return "", ""
	}
	switch r := in.(type) {
	case CheckRequest:
		return newerCheck(r)
	case *CheckRequest:
		return newerCheck(*r)
	case HistoryRequest:
		return newerHistory(r)
	case *HistoryRequest:
		return newerHistory(*r)
	case SetStatusRequest:
		return newerStatus(r)
	case *SetStatusRequest:
		return newerStatus(*r)
	}
	return "", ""
}

func newerCheck(r CheckRequest) (string, string) {
	switch {
	case r.From != "":
		return "from", "answer with the unread mail of every sender, which the check then marks read"
	case r.After != 0:
		return "after", "answer from the oldest unread message again"
	}
	return "", ""
}

func newerHistory(r HistoryRequest) (string, string) {
	switch {
	case r.After != 0:
		return "after", "answer with the oldest messages again"
	case !r.Since.IsZero():
		return "since", "answer with messages of any time"
	case !r.Until.IsZero():
		return "until", "answer with messages of any time"
	}
	return "", ""
}

func newerSearch(r SearchRequest) (string, string) {
	if r.Before != 0 {
		return "before", "answer with the newest matches again"
	}
	return "", ""
}

func newerStatus(r SetStatusRequest) (string, string) {
	if r.KeepDescription {
		return "keep_description", "clear the description"
	}
	return "", ""
}

// olderAnswer keeps the part a fetch or get_shared asked for of the
// answer of a broker older than revision 3, which ignored the request's
// Part and answered the whole content: the caller gets the answer a
// broker of this revision gives, only later.
func olderAnswer(rev int, in, out any) {
	if rev >= 3 {
		return
	}
	var part Part
	switch r := in.(type) {
	case FetchRequest:
		part = r.Part
	case *FetchRequest:
		part = r.Part
	case GetSharedRequest:
		part = r.Part
	case *GetSharedRequest:
		part = r.Part
	}
	switch res := out.(type) {
	case *FetchResult:
		res.cut(part)
	case *SharedResult:
		res.cut(part)
	}
}

// result is decodeResult, but an op unknown to a broker older than this
// client's revision is refused in words that say why and what to do: the
// broker's own words name only the protocol version, which every build
// speaks.
func (c *Client) result(op string, in any, f *Frame, out any) error {
	if f.Error != nil && f.Error.Code == ipcmesh.CodeUnknownOp && c.broker.Revision < Revision {
		return ipcmesh.Errorf(ipcmesh.CodeUnknownOp,
			"%s runs an older ipcmesh, which does not know the %s request: %s",
			brokerWithPID(c.broker), op, olderFix)
	}
	if err := decodeResult(op, f, out); err != nil {
		return err
	}
	olderAnswer(c.broker.Revision, in, out)
	return nil
}

// olderFix is what a user does about a broker of an older build.
const olderFix = "run `ipcmesh stop` so that a peer of this version takes over (restart the assistants that still run the older ipcmesh if one of them takes over again), then try again"

// olderBroker refuses a request that sets field, which the broker b is too
// old to honour, before it is sent.
func olderBroker(b BrokerInfo, op, field, instead string) error {
	return ipcmesh.Errorf(ipcmesh.CodeUnsupported,
		"%s runs an older ipcmesh, which would ignore %s's %s and %s: %s; or do without %s",
		brokerWithPID(b), op, field, instead, olderFix, fieldUse(op, field))
}

// brokerWithPID names the broker with its pid, which the first builds did
// not say.
func brokerWithPID(b BrokerInfo) string {
	if b.PID <= 0 {
		return "the broker"
	}
	return fmt.Sprintf("the broker (pid %d)", b.PID)
}

// fieldUse is what the user leaves out to do without a field: the CLI's
// flag, or the field itself for the MCP tools and the HTTP face, which
// name it the same.
func fieldUse(op, field string) string {
	switch {
	case op == OpSetStatus:
		return "keeping the description: set it again with the status"
	case field == "after", op == OpSearch && field == "before":
		return "reading on past the first page"
	}
	return fmt.Sprintf("the %s filter", field)
}
