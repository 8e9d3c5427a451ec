package election

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/ipc"
)

// notTwice mends the answer out (an *ipc.SendResult or the JSON of one)
// to the send m, sent again after its broker was lost. The lost broker
// had most often stored m before it died, so the next one found its id
// stored and answered duplicate: the sender, who sent once, was told
// that id had been sent before and nothing new went now. When the
// message stored under the id is m's own text, it is the one this call
// sent, and the answer says it was sent; when the text differs, an
// earlier send used the id, and the answer stays a duplicate.
func notTwice(m ipc.SendRequest, out any) error {
	switch r := out.(type) {
	case *ipc.SendResult:
		if r.Duplicate && sameText(m.Content, r.Message) {
			r.Duplicate = false
		}
	case *json.RawMessage:
		var sr ipc.SendResult
		if err := json.Unmarshal(*r, &sr); err != nil {
			return fmt.Errorf("decode the answer to send: %w", err)
		}
		if !sr.Duplicate || !sameText(m.Content, sr.Message) {
			return nil
		}
		// The answer is passed on as the broker wrote it, with only
		// its duplicate mark taken out.
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(*r, &fields); err != nil {
			return fmt.Errorf("decode the answer to send: %w", err)
		}
		delete(fields, "duplicate")
		b, err := json.Marshal(fields)
		if err != nil {
			return fmt.Errorf("encode the answer to send: %w", err)
		}
		*r = b
	}
	return nil
}

// broadcastNotTwice is notTwice for the broadcast m, whose answer r
// lists as duplicate the recipients the lost broker had stored a copy
// for. The answer holds no text, so one of those copies is fetched (a
// copy's id is the broadcast's and its recipient's name; one renamed
// since is not found by it, and the next is tried): when it holds m's
// text, the copies are this call's own first try. The broadcast is done
// either way, so a copy that cannot be read leaves the answer as it is.
func (p *Peer) broadcastNotTwice(ctx context.Context, m ipc.BroadcastRequest, r *ipc.BroadcastResult) {
	for _, n := range r.Duplicate[:min(len(r.Duplicate), 3)] {
		f, err := p.Fetch(ctx, m.ID+"."+n)
		if err != nil {
			continue
		}
		if sameText(m.Content, f.Message) {
			r.Duplicate = nil
		}
		return
	}
}

// sameText reports whether the message stored holds content: a large
// one keeps only a summary in the message, and its size.
func sameText(content string, stored ipcmesh.Message) bool {
	if stored.Large {
		return stored.Size == len(content)
	}
	return stored.Content == content
}
