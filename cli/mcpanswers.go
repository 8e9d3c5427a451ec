package cli

import (
	"bytes"
	"encoding/json"
	"strconv"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
)

// answers keeps the ids of the MCP requests read from stdin that have not
// been answered yet. The go-sdk ends the session as soon as stdin ends,
// and drops the answers to requests it had read but not answered: a
// script that pipes a few requests into `ipcmesh mcp` (initialize, then
// tools/call) got the first answer only. So the guard holds stdin's end
// back until every request has its answer.
//
// As it sees the messages both ways, it also keeps what the guard needs
// to know of batches: the protocol version the server agreed to at
// initialize, and the requests of batches not yet answered.
type answers struct {
	mu      sync.Mutex
	pending map[string]bool
	settled chan struct{} // closed and replaced when pending empties

	initID   jsonrpc.ID          // the initialize request awaiting its answer, if valid
	initDone chan struct{}       // closed once that answer is written
	version  string              // the protocolVersion of the server's answer to initialize
	batched  map[jsonrpc.ID]bool // the requests of batches whose answer is not written
}

func newAnswers() *answers {
	return &answers{pending: map[string]bool{}, settled: make(chan struct{}), batched: map[jsonrpc.ID]bool{}}
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

// messages splits what the guard passes on, or the server writes, into
// JSON-RPC messages: one a line, or each of a batch.
func messages(p []byte) (msgs []json.RawMessage, batched []bool) {
	for line := range bytes.Lines(p) {
		t := bytes.TrimSpace(line)
		if len(t) == 0 {
			continue
		}
		if t[0] != '[' {
			msgs, batched = append(msgs, t), append(batched, false)
			continue
		}
		var batch []json.RawMessage
		json.Unmarshal(t, &batch)
		for _, m := range batch {
			msgs, batched = append(msgs, m), append(batched, true)
		}
	}
	return msgs, batched
}

// read notes the messages passed on to the server: a request is pending
// until it is answered, and one the client cancels is not awaited.
func (a *answers) read(p []byte) {
	msgs, inBatch := messages(p)
	for i, m := range msgs {
		if inBatch[i] {
			// Which messages of a batch the go-sdk takes for requests
			// ("method": "" is one), and their ids, are its own.
			msg, _ := jsonrpc.DecodeMessage(m)
			if req, ok := msg.(*jsonrpc.Request); ok && req.ID.IsValid() {
				a.mu.Lock()
				a.batched[req.ID] = true
				a.mu.Unlock()
			}
		}
		var h rpcHead
		if json.Unmarshal(m, &h) != nil {
			continue
		}
		switch {
		case h.Method == "notifications/cancelled":
			a.settle(h.Params.RequestID)
		case h.Method != "":
			a.mu.Lock()
			if key, ok := idKey(h.ID); ok {
				a.pending[key] = true
			}
			if id, ok := rpcID(h.ID); ok && h.Method == "initialize" && a.version == "" && !a.initID.IsValid() {
				a.initID, a.initDone = id, make(chan struct{})
			}
			a.mu.Unlock()
		}
	}
}

// agreed returns the protocol version the server agreed to at initialize,
// or "" before it has, and while an initialize request awaits its answer,
// a channel closed once it is written.
func (a *answers) agreed() (version string, initializing <-chan struct{}) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.initID.IsValid() {
		return a.version, a.initDone
	}
	return a.version, nil
}

// inBatch reports whether id is that of a request in a batch whose answer
// is not written yet.
func (a *answers) inBatch(id jsonrpc.ID) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.batched[id]
}

// wrote notes what is written to the client: an answer, alone or in a
// batch, settles its request, and the server's answer to initialize says
// the protocol version it agreed to.
func (a *answers) wrote(p []byte) {
	msgs, inBatch := messages(p)
	for i, m := range msgs {
		var h rpcHead
		if json.Unmarshal(m, &h) != nil || h.Method != "" || (h.Result == nil && h.Error == nil) {
			continue
		}
		a.settle(h.ID)
		id, ok := rpcID(h.ID)
		if !ok {
			continue
		}
		a.mu.Lock()
		if inBatch[i] {
			delete(a.batched, id)
		}
		if a.initID.IsValid() && id == a.initID {
			var r struct {
				ProtocolVersion string `json:"protocolVersion"`
			}
			if h.Result != nil && json.Unmarshal(h.Result, &r) == nil {
				a.version = r.ProtocolVersion
			}
			a.initID = jsonrpc.ID{}
			close(a.initDone)
		}
		a.mu.Unlock()
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

// rpcID is a request id as the go-sdk reads it: a string, or a number
// taken as an integer.
func rpcID(raw json.RawMessage) (jsonrpc.ID, bool) {
	var v any
	if len(raw) == 0 || json.Unmarshal(raw, &v) != nil {
		return jsonrpc.ID{}, false
	}
	id, err := jsonrpc.MakeID(v)
	return id, err == nil && id.IsValid()
}
