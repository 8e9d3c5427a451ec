package cli

import (
	"encoding/json"
	"strconv"
	"sync"
	"time"
)

// answers keeps the ids of the MCP requests read from stdin that have not
// been answered yet. The go-sdk ends the session as soon as stdin ends,
// and drops the answers to requests it had read but not answered: a
// script that pipes a few requests into `ipcmesh mcp` (initialize, then
// tools/call) got the first answer only. So the guard holds stdin's end
// back until every request has its answer.
type answers struct {
	mu      sync.Mutex
	pending map[string]bool
	settled chan struct{} // closed and replaced when pending empties
}

func newAnswers() *answers {
	return &answers{pending: map[string]bool{}, settled: make(chan struct{})}
}

// rpcHead is what answers reads of a JSON-RPC message.
type rpcHead struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params struct {
		RequestID json.RawMessage `json:"requestId"`
	} `json:"params"`
	Result json.RawMessage `json:"result"`
	Error  json.RawMessage `json:"error"`
}

// read notes a message from the client: a request is pending until it is
// answered, and one the client cancels is not awaited.
func (a *answers) read(line []byte) {
	var h rpcHead
	if json.Unmarshal(line, &h) != nil {
		return
	}
	switch {
	case h.Method == "notifications/cancelled":
		a.settle(h.Params.RequestID)
	case h.Method != "":
		if key, ok := idKey(h.ID); ok {
			a.mu.Lock()
			a.pending[key] = true
			a.mu.Unlock()
		}
	}
}

// wrote notes a message to the client: an answer settles its request.
func (a *answers) wrote(msg []byte) {
	var h rpcHead
	if json.Unmarshal(msg, &h) == nil && h.Method == "" && (h.Result != nil || h.Error != nil) {
		a.settle(h.ID)
	}
}

func (a *answers) settle(id json.RawMessage) {
	key, ok := idKey(id)
	if !ok {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.pending[key] {
		return
	}
	delete(a.pending, key)
	if len(a.pending) == 0 {
		close(a.settled)
		a.settled = make(chan struct{})
	}
}

// wait returns once every request read has been answered, or after
// patience, or once gone (nobody reads the answers any more) or closing
// (the session ends) is ready.
func (a *answers) wait(patience time.Duration, gone, closing <-chan struct{}) {
	timer := time.NewTimer(patience)
	defer timer.Stop()
	for {
		a.mu.Lock()
		n, settled := len(a.pending), a.settled
		a.mu.Unlock()
		if n == 0 {
			return
		}
		select {
		case <-settled:
		case <-timer.C:
			return
		case <-gone:
			return
		case <-closing:
			return
		}
	}
}

// idKey is a request id as the answer spells it too: MCP's ids are
// strings or integers, which the SDK writes back in their own form ("\u0061"
// as "a", 1e0 not at all). Other ids are not awaited.
func idKey(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return "s" + s, true
	}
	var n int64
	if json.Unmarshal(raw, &n) == nil {
		return "n" + strconv.FormatInt(n, 10), true
	}
	return "", false
}
