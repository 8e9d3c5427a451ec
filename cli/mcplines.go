package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"slices"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/internal/human"
	"github.com/ipcmesh/ipcmesh/ipc"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
)

// maxMCPLine is the least limit on one line of MCP over stdio: as long as
// a broker's response, so that a tool call with a message over the mesh's
// limit is answered that it is too large by the tool itself.
const maxMCPLine = ipc.MaxResponseFrame

// mcpLineLimit is the longest line an MCP client may send: a tool call
// carrying the largest message, its JSON escaping and the call around it,
// and never less than maxMCPLine.
func mcpLineLimit(maxMessage int) int {
	return max(maxMCPLine, 2*maxMessage+64<<10)
}

// lineGuard passes the lines of an MCP client's stdin to the transport and
// refuses each line longer than max in its place: it answers the request
// with a JSON-RPC error when its id can be read, and logs a notice when it
// cannot. The go-sdk's transport ends the session on such a line, and the
// assistant would lose its tools for one oversized call.
type lineGuard struct {
	r    *bufio.Reader
	max  int
	out  *syncWriter
	log  *slog.Logger
	hint string // what to do instead, for the error

	pending []byte // the rest of the line being handed out
	err     error  // the input's error, once pending is drained

	answers  *answers      // the requests read, until they are answered
	patience time.Duration // how long the input's end waits for them, and a batch for the answer to initialize
	drained  bool          // the answers were waited for, at the input's end
	closing  chan struct{} // closed by Close: the session ends, wait no more
	once     sync.Once
}

// syncWriter serializes writes to the MCP client: the transport writes a
// message in one Write, and the guard's answers must not land inside one.
type syncWriter struct {
	mu      sync.Mutex
	w       io.Writer
	answers *answers
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.answers.wrote(p)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (s *syncWriter) Close() error { return nil }

// guardLines wraps the transport's input r and output w.
func guardLines(r io.Reader, w io.Writer, max int, hint string, log *slog.Logger) (*lineGuard, *syncWriter) {
	a := newAnswers()
	out := &syncWriter{w: w, answers: a}
	return &lineGuard{r: bufio.NewReaderSize(r, 64<<10), max: max, out: out, log: log, hint: hint, answers: a, patience: answerPatience, closing: make(chan struct{})}, out
}

// Close ends a wait for answers at the input's end: the session is over.
func (g *lineGuard) Close() {
	g.once.Do(func() { close(g.closing) })
}

// answerPatience bounds how long the end of stdin is held back for the
// answers to requests read before it: the longest wait a tool takes, and
// a minute more.
const answerPatience = ipc.MaxWait + time.Minute

func (g *lineGuard) Read(p []byte) (int, error) {
	for len(g.pending) == 0 {
		if g.err != nil {
			if !g.drained {
				g.drained = true
				gone, stop := readersGone(g.out.w)
				g.answers.wait(g.patience, gone, g.closing)
				stop()
			}
			return 0, g.err
		}
		g.pending, g.err = g.line()
		g.answers.read(g.pending)
	}
	n := copy(p, g.pending)
	g.pending = g.pending[n:]
	return n, nil
}

// headSize and tailSize are how much of a refused line is kept to find
// its id: near the start, where clients write it, or at the very end.
const (
	headSize = 64 << 10
	tailSize = 256
)

// line reads the next line whole, or refuses it and returns nothing when it
// is over the limit.
func (g *lineGuard) line() ([]byte, error) {
	var line []byte
	for {
		chunk, err := g.r.ReadSlice('\n')
		if len(line)+len(chunk) > g.max {
			return nil, g.refuse(line, chunk, err)
		}
		line = append(line, chunk...)
		if err != bufio.ErrBufferFull {
			if !utf8.Valid(line) {
				g.refuseText(line)
				return nil, err
			}
			if code, why := refusable(line); why != "" {
				g.refuseMessage(line, code, why)
				return nil, err
			}
			if isBatch(line) {
				pass, why := g.batch(line)
				if why != "" {
					g.refuseMessage(line, -32600, why)
					return nil, err
				}
				return pass, err
			}
			return endAtValue(line), err
		}
	}
}

// refusable is unreadable, and also refuses a line the go-sdk reads but
// would leave unanswered: an object with an id and neither a "method"
// nor a "result" or "error" (a request whose "method" was mistyped, say)
// it takes for the answer to a call the server never made, and drops
// without a word, while the client waits for an answer to that id.
func refusable(line []byte) (int, string) {
	if code, why := unreadable(line); why != "" {
		return code, why
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(line, &m) != nil {
		return 0, "" // a batch, or a blank line
	}
	id, hasID := m["id"]
	_, hasMethod := m["method"]
	_, hasResult := m["result"]
	_, hasError := m["error"]
	if !hasID || string(id) == "null" || hasMethod || hasResult || hasError {
		return 0, ""
	}
	return -32600, `it has an id but no "method", as a request has, nor a "result" or "error", as an answer has`
}

// refuseText answers a line that is not UTF-8, which JSON must be. The
// go-sdk would decode it with each bad byte taken for U+FFFD, and a tool
// call carrying raw bytes (Latin-1 text, a binary file) would store a
// message other than the one sent, its caller told it was sent.
func (g *lineGuard) refuseText(line []byte) {
	at := ipcmesh.NotUTF8(string(line))
	msg := fmt.Sprintf("the request is not UTF-8 (byte %d is 0x%02X), and JSON must be; it was refused and nothing was done: send text as UTF-8, and binary data as base64", at+1, line[at])
	id, ok := requestID(line, line[max(0, len(line)-tailSize):])
	if !ok {
		g.log.Warn("refused an MCP message that is not UTF-8; it has no id to answer", "bytes", len(line))
		return
	}
	g.answer(id, -32700, msg)
	g.log.Warn("refused an MCP request that is not UTF-8", "bytes", len(line), "id", string(id))
}

// refuse reads the rest of an overlong line, of which head and chunk were
// read (err the error of that read), and answers it. The head is filled
// up to headSize from whatever chunks it takes: with a limit under
// headSize, the chunk that crosses it may end before the id does.
func (g *lineGuard) refuse(head, chunk []byte, err error) error {
	size := len(head)
	var tail []byte
	for {
		size += len(chunk)
		if len(head) < headSize {
			head = append(head, chunk[:min(len(chunk), headSize-len(head))]...)
		}
		tail = append(tail, chunk...)
		tail = tail[max(0, len(tail)-tailSize):]
		if err != bufio.ErrBufferFull {
			break
		}
		chunk, err = g.r.ReadSlice('\n')
	}
	msg := fmt.Sprintf("the request is %s, over the %s that ipcmesh mcp reads in one request; it was refused unread and nothing was done: %s", human.Size(size), human.Size(g.max), g.hint)
	id, ok := requestID(head, tail)
	if !ok {
		g.log.Warn("refused an MCP message over the size limit; it has no id to answer", "bytes", size, "limit", g.max)
		return err
	}
	g.answer(id, -32600, msg)
	g.log.Warn("refused an MCP request over the size limit", "bytes", size, "limit", g.max, "id", string(id))
	return err
}

// unreadable says why the go-sdk cannot take line as a JSON-RPC message
// or batch, with the JSON-RPC error code for it, or "" when it can. The
// SDK ends the whole session on such a line: the assistant would lose its
// tools, and the calls still running their answers, for one broken line.
// Blank lines the SDK skips, so they pass.
func unreadable(line []byte) (int, string) {
	t := bytes.TrimSpace(line)
	if len(t) == 0 {
		return 0, ""
	}
	// The SDK reads the line with encoding/json before it decodes the
	// message in it.
	if !json.Valid(t) {
		return -32700, fmt.Sprintf("it is not JSON (%v)", json.Unmarshal(t, new(any)))
	}
	if t[0] == '[' {
		return unreadableBatch(t)
	}
	return unreadableMessage(t)
}

// maxMCPDepth is how deep the go-sdk reads JSON: a batch, as a whole.
const maxMCPDepth = 1000

// unreadableBatch says why the go-sdk cannot take the JSON array t as a
// batch, or "" when it can: it ends the session on a batch that is empty,
// that nests too deep, that holds a message it cannot read, or that holds
// two requests with one id.
func unreadableBatch(t []byte) (int, string) {
	var batch []json.RawMessage
	json.Unmarshal(t, &batch) // a JSON array
	if len(batch) == 0 {
		return -32600, "it is empty"
	}
	if depth(t) > maxMCPDepth {
		return -32600, fmt.Sprintf("it nests deeper than %d levels", maxMCPDepth)
	}
	ids := map[jsonrpc.ID]bool{}
	for i, m := range batch {
		msg, err := jsonrpc.DecodeMessage(m)
		if err != nil {
			_, why := unreadableMessage(m)
			return -32600, fmt.Sprintf("its message %d is not a JSON-RPC 2.0 message: %s", i+1, why)
		}
		if req, ok := msg.(*jsonrpc.Request); ok && req.ID.IsValid() {
			if ids[req.ID] {
				return -32600, fmt.Sprintf("two of its requests have the id %s", idText(req.ID))
			}
			ids[req.ID] = true
		}
	}
	return 0, ""
}

// depth is how deep the objects and arrays of the JSON text t nest.
func depth(t []byte) int {
	d, deepest := 0, 0
	inString, escaped := false, false
	for _, c := range t {
		switch {
		case escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		case inString:
		case c == '{' || c == '[':
			d++
			deepest = max(deepest, d)
		case c == '}' || c == ']':
			d--
		}
	}
	return deepest
}

// idText is a request id as JSON.
func idText(id jsonrpc.ID) string {
	b, _ := json.Marshal(id.Raw())
	return string(b)
}

// isBatch reports whether line holds a JSON array: a JSON-RPC batch.
func isBatch(line []byte) bool {
	t := bytes.TrimSpace(line)
	return len(t) > 0 && t[0] == '['
}

// noBatches is the first protocol version without JSON-RPC batches. The
// go-sdk compares versions as strings, and so does the guard.
const noBatches = "2025-06-18"

// batch decides on a batch the go-sdk can read (see unreadableBatch), and
// returns what to pass on in its place, or why it is refused:
//
//   - Under a protocol version without batches, the SDK ends the session
//     on one. It is refused, each request in it answered with an error,
//     and the session goes on. The version is the one the server agreed
//     to at initialize, read from its answer (see version).
//   - The SDK ends the session on a batch with a request whose id is that
//     of a request in an earlier batch, not yet answered. It is refused.
//   - The SDK answers a batch that holds a notification never (it awaits
//     an answer to it as well), and ends the session on one that holds
//     two. Its notifications are passed each on a line of their own,
//     before the rest of the batch, which JSON-RPC lets a server handle
//     in any order.
func (g *lineGuard) batch(line []byte) ([]byte, string) {
	if v := g.version(); v >= noBatches {
		return nil, fmt.Sprintf("MCP %s, the protocol version agreed at initialize, has no batches", v)
	}
	var batch []json.RawMessage
	json.Unmarshal(bytes.TrimSpace(line), &batch)
	var notes, rest []json.RawMessage
	for _, m := range batch {
		msg, _ := jsonrpc.DecodeMessage(m) // unreadableBatch read each
		req, ok := msg.(*jsonrpc.Request)
		switch {
		case ok && !req.ID.IsValid():
			notes = append(notes, m)
		case ok && g.answers.inBatch(req.ID):
			return nil, fmt.Sprintf("its request %s has the id of a request in an earlier batch, not yet answered", idText(req.ID))
		default:
			rest = append(rest, m)
		}
	}
	if len(notes) == 0 {
		return endAtValue(line), ""
	}
	var b bytes.Buffer
	for _, m := range notes {
		b.Write(m)
		b.WriteByte('\n')
	}
	if len(rest) > 0 {
		b.WriteByte('[')
		for i, m := range rest {
			if i > 0 {
				b.WriteByte(',')
			}
			b.Write(m)
		}
		b.WriteString("]\n")
	}
	return b.Bytes(), ""
}

// unreadableMessage says why the go-sdk cannot decode the JSON value t as
// one JSON-RPC message, or "" when it can. The SDK's own decoder decides,
// so that no message it cannot read passes (its keys are case-sensitive,
// its ids float64s, its error objects typed); the checks after it only
// put the usual mistakes in words.
func unreadableMessage(t []byte) (int, string) {
	_, err := jsonrpc.DecodeMessage(t)
	if err == nil {
		return 0, ""
	}
	if t[0] != '{' {
		return -32600, "it is not a JSON object"
	}
	var m map[string]json.RawMessage
	json.Unmarshal(t, &m) // a JSON object
	var version string
	if json.Unmarshal(m["jsonrpc"], &version) != nil || version != "2.0" {
		return -32600, `its "jsonrpc" is not "2.0"`
	}
	id := m["id"]
	if len(id) > 0 && !answerable(id) && string(id) != "null" {
		return -32600, "its id is neither a string nor a number"
	}
	method, hasMethod := m["method"]
	if hasMethod && method[0] != '"' {
		return -32600, `its "method" is not a string`
	}
	if !hasMethod && (len(id) == 0 || string(id) == "null") {
		return -32600, "it has neither a method nor an id"
	}
	return -32600, fmt.Sprintf("the MCP library cannot read it (%v)", err)
}

// endAtValue returns line without the spaces or tabs that follow its JSON
// value, if any do. The go-sdk takes only a line break after a message,
// and ended the session on a line that a client padded with blanks.
func endAtValue(line []byte) []byte {
	v := bytes.TrimRight(line, " \t\r\n")
	if len(v) == 0 || len(v) == len(line) || line[len(v)] == '\n' || line[len(v)] == '\r' {
		return line
	}
	if line[len(line)-1] == '\n' {
		return append(v, '\n')
	}
	return v
}

// version returns the protocol version the server agreed to at
// initialize, or "" before it has. While an initialize request awaits its
// answer it waits for that answer first, for at most patience or until
// the session ends: the server takes the version on as it answers, and a
// batch read meanwhile is read under it.
func (g *lineGuard) version() string {
	v, initializing := g.answers.agreed()
	if initializing == nil || g.patience <= 0 {
		return v
	}
	g.log.Debug("a batch waits for the answer to initialize, to be read under the protocol version agreed")
	timer := time.NewTimer(g.patience)
	defer timer.Stop()
	select {
	case <-initializing:
	case <-timer.C:
	case <-g.closing:
	}
	v, _ = g.answers.agreed()
	return v
}

// refuseMessage answers a line the go-sdk cannot read (see unreadable)
// with a JSON-RPC error for its id, or logs it when it has none.
func (g *lineGuard) refuseMessage(line []byte, code int, why string) {
	if isBatch(line) {
		g.refuseBatch(line, why)
		return
	}
	msg := fmt.Sprintf("the line is not a JSON-RPC 2.0 message: %s; it was ignored and nothing was done: send one JSON-RPC 2.0 object per line", why)
	id, ok := requestID(line, line[max(0, len(line)-tailSize):])
	if !ok {
		g.log.Warn("ignored an MCP message that is not JSON-RPC; it has no id to answer", "why", why, "bytes", len(line))
		return
	}
	g.answer(id, code, msg)
	g.log.Warn("ignored an MCP message that is not JSON-RPC", "why", why, "bytes", len(line), "id", string(id))
}

// refuseBatch answers each request of a batch that is refused with a
// JSON-RPC error, or logs the batch when it holds no request with an id.
// The answers are single messages, not a batch: a client of a version
// without batches reads no batch, and JSON-RPC has the client match
// answers to requests by their ids. A batch of notifications alone is
// not answered, as JSON-RPC answers no notification, nor is a message
// whose id cannot be read: MCP's ids are never null, and the go-sdk's
// client ends its session on an answer with a null id.
func (g *lineGuard) refuseBatch(line []byte, why string) {
	msg := fmt.Sprintf("the line is a JSON-RPC batch, and %s; nothing in it was done: send one JSON-RPC 2.0 object per line, each request with an id of its own", why)
	ids := batchIDs(line)
	if len(ids) == 0 {
		g.log.Warn("ignored an MCP batch; it has no id to answer", "why", why, "bytes", len(line))
		return
	}
	for _, id := range ids {
		g.answer(id, -32600, msg)
	}
	g.log.Warn("ignored an MCP batch", "why", why, "bytes", len(line), "requests", len(ids))
}

// batchIDs returns the ids of the requests in a batch, each once, as the
// client wrote them: of each message with a method and a string or number
// for its id.
func batchIDs(line []byte) []json.RawMessage {
	var batch []json.RawMessage
	if json.Unmarshal(bytes.TrimSpace(line), &batch) != nil {
		return nil
	}
	var ids []json.RawMessage
	for _, m := range batch {
		var fields map[string]json.RawMessage
		if json.Unmarshal(m, &fields) != nil {
			continue
		}
		id := fields["id"]
		if _, ok := fields["method"]; !ok || !answerable(id) {
			continue
		}
		if !slices.ContainsFunc(ids, func(seen json.RawMessage) bool { return bytes.Equal(seen, id) }) {
			ids = append(ids, id)
		}
	}
	return ids
}

// answer writes a JSON-RPC error for the request id. The id goes back as
// the client wrote it: json.Marshal would write a '&' or '<' in it as
// \u0026 or \u003c, the same string to a JSON decoder, but not to a
// client that matches the bytes.
func (g *lineGuard) answer(id json.RawMessage, code int, msg string) {
	type rpcError struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	err := enc.Encode(struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
		Error   rpcError        `json:"error"`
	}{JSONRPC: "2.0", ID: id, Error: rpcError{Code: code, Message: msg}})
	if err == nil {
		g.out.Write(b.Bytes()) // Encode ends it with a newline
	}
}

// answerable reports whether the JSON value id is a string or a number,
// the ids an answer can carry back (MCP's are never null).
func answerable(id json.RawMessage) bool {
	return len(id) > 0 && (id[0] == '"' || id[0] == '-' || id[0] >= '0' && id[0] <= '9')
}

// tailID finds an id written last in a request, after its params.
var tailID = regexp.MustCompile(`"id"\s*:\s*(-?[0-9]+|"(?:[^"\\]|\\.)*")\s*}\s*$`)

// requestID finds the JSON-RPC id of a request of which only the start
// (head) and the end (tail) were kept.
func requestID(head, tail []byte) (json.RawMessage, bool) {
	dec := json.NewDecoder(bytes.NewReader(head))
	if t, err := dec.Token(); err == nil && t == json.Delim('{') {
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				break
			}
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				break // the value runs past what was kept
			}
			if k == "id" && answerable(v) {
				return v, true
			}
		}
	}
	if m := tailID.FindSubmatch(bytes.TrimRight(tail, "\r\n")); m != nil && json.Valid(m[1]) {
		return json.RawMessage(m[1]), true
	}
	return nil, false
}
