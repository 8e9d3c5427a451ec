package natsstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/ipcmesh/ipcmesh"
)

// A large event is in the bodies bucket, and the log holds only a stub
// that names its object. The object may be gone when a view reads it: an
// operator removed it, the bucket was damaged or lost, a sweep removed it
// wrongly. A view that stopped there could apply nothing after it, and
// every view that had not read it yet, every host that starts anew among
// them, stopped with it: one lost object stopped the mesh. The stub
// therefore also carries the event without its bodies, each in the words
// of its loss (event.IfLost), which a view applies in its place: the
// message is delivered as sent, its body saying what was lost, and every
// view that reads the event after the loss applies the same, so that they
// go on deciding alike (the same seq for the messages after it). A stub
// written by an older broker carries no such event: nothing is known of
// what it held, and the views skip it.

// errBodyLost is what blob returns for an object the bodies bucket says
// it does not hold, after replicas a moment behind were given the time to
// catch up: the store does not hold it, and never will.
var errBodyLost = errors.New("the object store does not hold it")

// ifLost returns ev, a large event written with args, encoded with each
// message body or shared value in it replaced by the words of its loss
// from bucket, or nil when ev is of another op, whose event a view cannot
// make up: then the views skip it. The words fit within the limits the
// event carries, as the bodies they stand for did, so that the views
// decide the event as those that read its bodies did.
func ifLost(ev event, args any, bucket string) json.RawMessage {
	switch a := args.(type) {
	case appendArgs:
		a.Drafts = slices.Clone(a.Drafts) // the caller's
		for i, d := range a.Drafts {
			if d.Content != "" {
				what := fmt.Sprintf("this message's body (%d bytes)", len(d.Content))
				again := "ask " + d.From + " to send it again"
				a.Drafts[i].Content = lostWords(what, again, ev.ID, bucket, a.Limits.MaxMessageBytes)
			}
		}
		args = a
	case shareArgs:
		if a.Limits.MaxMessageBytes > 0 && len(a.Content) > a.Limits.MaxMessageBytes {
			return nil // refused by every view that reads it: skipped alike
		}
		what := fmt.Sprintf("this shared value (%d bytes)", len(a.Content))
		again := "ask " + a.StoredBy + " to share it again"
		a.Content = lostWords(what, again, ev.ID, bucket, a.Limits.MaxMessageBytes)
		args = a
	default:
		return nil
	}
	raw, err := json.Marshal(args)
	if err != nil {
		return nil
	}
	ev.Args = raw
	data, err := json.Marshal(ev)
	if err != nil {
		return nil
	}
	return data
}

// lostWords says that what, the body of the large event id, was lost from
// bucket, and how to have it again, in at most maxBytes (0: any).
func lostWords(what, again, id, bucket string, maxBytes int) string {
	s := fmt.Sprintf("[ipcmesh: %s was lost from the NATS cluster's object store (object %s in bucket %s) before this broker read it; %s]",
		what, id, bucket, again)
	if maxBytes > 0 && len(s) > maxBytes {
		s = strings.ToValidUTF8(s[:maxBytes], "")
	}
	return s
}

// lost is decode for the large event seq, stub, whose object the bodies
// bucket lost. It logs the loss and returns the event to apply in its
// place. When the stub says nothing of the event (an older broker wrote
// it, or its op has no body to stand for), the views skip the event: it
// returns the outcome the write waiting for it gets, if it is this
// broker's, to settle in its turn. Either way the event names its object,
// which is recorded as the objects of the events applied are
// (recordBody); an error is a fault that stops the view.
func (s *Store) lost(seq uint64, stub event) (json.RawMessage, *outcome, error) {
	bucket := bodiesBucket(s.stream)
	if stub.IfLost != nil {
		s.log.Error("a large event's body was lost from the NATS cluster's object store: the view applies the event with the words of its loss in place of its bodies; its sender may send it again",
			"seq", seq, "object", stub.ID, "bucket", bucket)
		return stub.IfLost, nil, nil
	}
	s.log.Error("a large event was lost from the NATS cluster's object store, and the log holds nothing else of it: the view skips it",
		"seq", seq, "object", stub.ID, "bucket", bucket)
	if err := s.recordBody(stub.ID, seq); err != nil {
		return nil, nil, fmt.Errorf("event %d of the log: %w", seq, err)
	}
	return nil, &outcome{err: &ipcmesh.Error{
		Code:    ipcmesh.CodeUnavailable,
		Message: fmt.Sprintf("the write's large body (object %s in bucket %s) was lost from the NATS cluster's object store before this broker's view read it back: send it again", stub.ID, bucket),
	}}, nil
}
