package tools

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"
	"slices"
	"sync"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/election"
	"github.com/ipcmesh/ipcmesh/ipc"
)

// keepUnanswered bounds the sends a server remembers as unanswered: the
// model retries within a turn or two, so a few suffice.
const keepUnanswered = 16

// unansweredHint ends the error of a send that got no answer: the model is
// told it failed, but a broker that was stopped or slow still holds the
// request and may carry it out once it answers again.
const unansweredHint = " It may still be delivered once the broker answers again: to make sure it goes, send the same message again; it goes at most once."

// lostHint ends the error of a send whose broker was lost before it
// answered, when no other took its place: the lost one may have stored it.
const lostHint = " It may have been delivered before the broker was lost: to make sure it goes, send the same message again once the mesh is back; it goes at most once."

// unsettledHint is the hint that ends the error err of a send: one of the
// two above when the send may have been carried out, "" otherwise.
func unsettledHint(err error) string {
	return hintFor(err, unansweredHint, lostHint)
}

// A share that got no answer may be stored all the same, as a send may;
// told only that it failed, the model would not know that sharing it
// again is how to make sure, and harmless: a share replaces what its key
// holds.
const (
	shareUnansweredHint = " It may still be stored once the broker answers again: to make sure it is, share it again; a share replaces what the key holds."
	shareLostHint       = " It may have been stored before the broker was lost: to make sure it is, share it again once the mesh is back; a share replaces what the key holds."
)

// hintFor is unanswered when err says the broker did not answer, lost
// when it was lost before it answered, and "" otherwise.
func hintFor(err error, unanswered, lost string) string {
	switch {
	case errors.Is(err, election.ErrNotAnswering):
		return unanswered
	case errors.Is(err, election.ErrAnswerLost):
		return lost
	}
	return ""
}

// unanswered remembers the ids of sends that got no answer from the
// broker (it did not answer in time, or the call ended first), by what
// they sent. Such a send may still be carried out: a broker that was
// stopped (Ctrl-Z) or busy reads it when it resumes. A model told that
// the send failed sends the same message again, and without the first
// id that would be a second message. With it, the broker stores the
// message once: whichever try comes second is a duplicate.
//
// A send the broker answered, stored or refused, is settled: its entry
// goes, and the same text sent again later is a new message. One refused
// with unavailable is not: the store asks for it again under the same id
// (a commit that failed may have stored it all the same), and only this
// server knows the id.
type unanswered struct {
	mu    sync.Mutex
	ids   map[sendKey]string
	order []sendKey // keys, oldest first
}

// sendKey identifies a send by everything it sends.
type sendKey [sha256.Size]byte

// keyOf is the key of a send of kind ("send", "broadcast") of out.
func keyOf(kind string, out ipc.Outgoing) sendKey {
	h := sha256.New()
	for _, s := range []string{kind, out.To, out.Type, out.ReplyTo, out.Shared, out.Content} {
		// Each part's length first, so no two sends share a key by
		// moving text from one part to the next.
		h.Write(binary.LittleEndian.AppendUint64(nil, uint64(len(s))))
		io.WriteString(h, s)
	}
	var k sendKey
	h.Sum(k[:0])
	return k
}

// id returns the id of an unanswered send like k, or a new one.
func (u *unanswered) id(k sendKey) string {
	u.mu.Lock()
	defer u.mu.Unlock()
	if id, ok := u.ids[k]; ok {
		return id
	}
	return ipc.NewID()
}

// settle records the outcome of the send k under id: kept while it got no
// answer or was refused for now (unavailable), forgotten once it was
// stored or refused for good. It reports whether it was kept.
func (u *unanswered) settle(k sendKey, id string, err error) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if settled(err) {
		if _, ok := u.ids[k]; ok {
			delete(u.ids, k)
			u.order = slices.DeleteFunc(u.order, func(o sendKey) bool { return o == k })
		}
		return false
	}
	if u.ids == nil {
		u.ids = make(map[sendKey]string)
	}
	if _, ok := u.ids[k]; !ok {
		u.order = append(u.order, k)
	}
	u.ids[k] = id
	if len(u.order) > keepUnanswered {
		delete(u.ids, u.order[0])
		u.order = u.order[1:]
	}
	return true
}

// settled reports whether err, the outcome of a send, settles it: it was
// stored, or refused for good. A refusal the send's broker was lost
// before it gave is not one: the error that ended the call then (the
// next broker's refusal of the hello, say) is not the answer to the send,
// which the lost broker may have stored.
func settled(err error) bool {
	if err == nil {
		return true
	}
	if errors.Is(err, election.ErrAnswerLost) {
		return false
	}
	var refused *ipcmesh.Error
	return errors.As(err, &refused) && refused.Code != ipcmesh.CodeUnavailable
}
