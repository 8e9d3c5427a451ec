package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ipcmesh/ipcmesh/internal/human"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
)

// FuzzLineGuard feeds the reader of `ipcmesh mcp`'s stdin (lineGuard)
// arbitrary input, under an arbitrary line limit, through a read buffer
// of 16 to 79 bytes and reads of 1 to 37 bytes at a time, so that lines
// over the limit and lines cut by the buffer meet in inputs of a few
// hundred bytes, as they do in megabytes on a 64 KiB buffer. It checks
// the guard against a model of what it promises, made by cutting the
// input at each newline:
//
//   - the transport gets exactly the lines within the limit (the newline
//     counted) that are UTF-8 and that the go-sdk can read as JSON-RPC
//     (unreadable), whole and in order but for blanks after a line's
//     JSON value, and then the input's end;
//   - every other line is either answered, with one JSON-RPC error line
//     that says why (for a line over the limit: its size and the limit)
//     and carries an id written in that line, or logged as having no id
//     to answer, and nothing else is written;
//   - a line over the limit that is a JSON object with one "id", a string
//     or a number, is answered with that id: its client waits for it.
//     (The inputs are shorter than the 64 KiB kept of a line's start,
//     where the id is looked for.)
//
// FuzzRequestID checks the id found in what a long line keeps.
//
//	go test -run '^$' -fuzz '^FuzzLineGuard$' -fuzztime 60s ./cli/
func FuzzLineGuard(f *testing.F) {
	// Seeds: testdata/fuzz/FuzzLineGuard.
	f.Fuzz(func(t *testing.T, in []byte, limit uint16, bufSize, readSize uint8) {
		max := 1 + int(limit%512)
		var out, logged bytes.Buffer
		g, _ := guardLines(nil, &out, max, "send less", slog.New(slog.NewTextHandler(&logged, nil)))
		g.r = bufio.NewReaderSize(bytes.NewReader(in), 16+int(bufSize%64))
		g.patience = 0 // nothing here answers the requests passed on
		var passed []byte
		p := make([]byte, 1+int(readSize%37))
		for {
			n, err := g.Read(p)
			passed = append(passed, p[:n]...)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			if n == 0 {
				t.Fatal("Read returned nothing and no error")
			}
		}

		var want []byte
		var refused [][]byte
		var why []string                  // what the answer to each line refused says
		var batchIDs [][]json.RawMessage  // for a batch refused whole: the ids answered, in order
		inFlight := map[jsonrpc.ID]bool{} // requests of batches passed on: nothing here answers them
		for line := range bytes.Lines(in) {
			v := bytes.TrimSpace(line)
			batch := len(line) <= max && utf8.Valid(line) && json.Valid(v) && v[0] == '['
			refuse := func(w string) {
				refused, why = append(refused, line), append(why, w)
				if batch {
					batchIDs = append(batchIDs, requestIDsOf(v))
				} else {
					batchIDs = append(batchIDs, nil)
				}
			}
			switch {
			case len(line) > max:
				refuse("the request is " + human.Size(len(line)) + ", over the " + human.Size(max))
			case !utf8.Valid(line):
				refuse("the request is not UTF-8")
			default:
				if _, w := refusable(line); w != "" && batch {
					refuse("the line is a JSON-RPC batch, and " + w)
					continue
				} else if w != "" {
					refuse("the line is not a JSON-RPC 2.0 message: " + w)
					continue
				}
				if batch {
					var msgs []json.RawMessage
					json.Unmarshal(v, &msgs)
					var notes, rest []json.RawMessage
					reused := false
					for _, m := range msgs {
						msg, err := jsonrpc.DecodeMessage(m)
						if err != nil {
							t.Fatalf("a batch passed by unreadable holds %q: %v", m, err)
						}
						req, ok := msg.(*jsonrpc.Request)
						switch {
						case ok && !req.ID.IsValid():
							notes = append(notes, m)
						case ok:
							reused = reused || inFlight[req.ID]
							rest = append(rest, m)
						default:
							rest = append(rest, m)
						}
					}
					if reused {
						refuse("the line is a JSON-RPC batch, and its request ")
						continue
					}
					for _, m := range rest {
						if msg, _ := jsonrpc.DecodeMessage(m); msg != nil {
							if req, ok := msg.(*jsonrpc.Request); ok {
								inFlight[req.ID] = true
							}
						}
					}
					if len(notes) > 0 {
						// Notifications go on a line each, before the
						// rest: the SDK answers no batch that holds one.
						for _, m := range notes {
							want = append(append(want, m...), '\n')
						}
						if len(rest) > 0 {
							want = append(want, '[')
							for n, m := range rest {
								if n > 0 {
									want = append(want, ',')
								}
								want = append(want, m...)
							}
							want = append(want, "]\n"...)
						}
						continue
					}
				}
				// Blanks after the value are dropped: the SDK takes
				// only a line break there.
				if v := bytes.TrimRight(line, " \t\r\n"); len(v) > 0 && len(v) < len(line) && (line[len(v)] == ' ' || line[len(v)] == '\t') {
					want = append(want, v...)
					if bytes.HasSuffix(line, []byte("\n")) {
						want = append(want, '\n')
					}
					continue
				}
				want = append(want, line...)
			}
		}
		if !bytes.Equal(passed, want) {
			t.Fatalf("limit %d: passed on %q, want %q", max, passed, want)
		}

		answered := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
		if out.Len() == 0 {
			answered = nil
		} else if !bytes.HasSuffix(out.Bytes(), []byte("\n")) {
			t.Fatalf("the answers %q do not end a line", out.String())
		}
		// A batch refused whole is answered once for each id of a request
		// in it, or logged when it has none; any other line refused is
		// answered once or logged.
		isBatch := func(i int) bool {
			v := bytes.TrimSpace(refused[i])
			return len(refused[i]) <= max && utf8.Valid(refused[i]) && json.Valid(v) && v[0] == '['
		}
		var batchAnswers, silentBatches, others int
		for i := range refused {
			switch {
			case !isBatch(i):
				others++
			case len(batchIDs[i]) == 0:
				silentBatches++
			default:
				batchAnswers += len(batchIDs[i])
			}
		}
		unanswered := strings.Count(logged.String(), "it has no id to answer")
		if others-(len(answered)-batchAnswers) != unanswered-silentBatches {
			t.Fatalf("limit %d: %d lines refused and %d answered, and the log says %q", max, len(refused), len(answered), logged.String())
		}
		// Which answer is which line's is not written in the answers: an
		// answer fits a line when it is a JSON-RPC error that says why the
		// line was refused, with an id written in the line, the one a
		// client wrote where the line has one. The answers fit the lines
		// in order, every line with a client's id answered, the rest
		// answered or logged. Two lines may fit one answer ("2\n{\"id\":2":
		// the first holds the second's id), so a fit is searched for, not
		// taken line by line. A batch refused whole takes one answer for
		// each id of a request in it, in its order.
		must := make([]bool, len(refused))
		ids := make([]json.RawMessage, len(refused))
		for i, line := range refused {
			ids[i], must[i] = soleID(line)
			must[i] = must[i] && len(line) <= headSize
		}
		fits := func(i, j int) bool {
			var a struct {
				JSONRPC string          `json:"jsonrpc"`
				ID      json.RawMessage `json:"id"`
				Error   struct {
					Code    int    `json:"code"`
					Message string `json:"message"`
				} `json:"error"`
			}
			line := refused[i]
			if json.Unmarshal([]byte(answered[j]), &a) != nil || !answersLine(answered[j], line) ||
				a.JSONRPC != "2.0" || !strings.Contains(a.Error.Message, why[i]) {
				return false
			}
			if must[i] && !bytes.Equal(a.ID, ids[i]) {
				return false
			}
			if len(line) > max {
				return a.Error.Code == -32600 && strings.HasSuffix(a.Error.Message, "send less")
			}
			return a.Error.Code == -32600 || a.Error.Code == -32700
		}
		// fit[i][j]: refused[i:] and answered[j:] fit.
		fit := make([][]bool, len(refused)+1)
		for i := range fit {
			fit[i] = make([]bool, len(answered)+1)
		}
		fit[len(refused)][len(answered)] = true
		for i := len(refused) - 1; i >= 0; i-- {
			for j := len(answered); j >= 0; j-- {
				if isBatch(i) {
					k := len(batchIDs[i])
					fit[i][j] = j+k <= len(answered) && fit[i+1][j+k]
					for n := 0; fit[i][j] && n < k; n++ {
						var a struct{ ID json.RawMessage }
						json.Unmarshal([]byte(answered[j+n]), &a)
						fit[i][j] = fits(i, j+n) && bytes.Equal(a.ID, batchIDs[i][n]) && strings.Contains(answered[j+n], "send one JSON-RPC 2.0 object per line")
					}
					continue
				}
				fit[i][j] = !must[i] && fit[i+1][j] || j < len(answered) && fit[i+1][j+1] && fits(i, j)
			}
		}
		if !fit[0][0] {
			t.Fatalf("limit %d: the answers %q do not fit the lines refused, %q (why: %q)", max, answered, refused, why)
		}
	})
}

// answersLine reports whether answer, a line the guard wrote, is a JSON-RPC
// error whose id is written in line, a line it refused.
func answersLine(answer string, line []byte) bool {
	var a struct{ ID json.RawMessage }
	if json.Unmarshal([]byte(answer), &a) != nil || len(a.ID) == 0 {
		return false
	}
	// A number past float64 (1e400) is still one: the client's own, as
	// it wrote it.
	if c := a.ID[0]; c != '"' && c != '-' && (c < '0' || c > '9') {
		return false
	}
	return bytes.Contains(line, a.ID)
}

// soleID returns the id of line when line is a JSON object with one "id"
// member, a string or a number, as a client writes a request.
func soleID(line []byte) (json.RawMessage, bool) {
	if !json.Valid(line) {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, false
	}
	var id json.RawMessage
	n := 0
	for dec.More() {
		k, err := dec.Token()
		var v json.RawMessage
		if err != nil || dec.Decode(&v) != nil {
			return nil, false
		}
		if k == "id" {
			id, n = v, n+1
		}
	}
	if n != 1 {
		return nil, false
	}
	if c := id[0]; c != '"' && c != '-' && (c < '0' || c > '9') {
		return nil, false
	}
	return id, true
}

// requestIDsOf returns the ids of the requests in the JSON array batch,
// each once, in order: of each object in it with a "method" member and
// an "id" member that is a string or a number, as a client writes a
// request.
func requestIDsOf(batch []byte) []json.RawMessage {
	var msgs []json.RawMessage
	json.Unmarshal(batch, &msgs)
	var ids []json.RawMessage
	for _, m := range msgs {
		var fields map[string]json.RawMessage
		if json.Unmarshal(m, &fields) != nil {
			continue
		}
		id, hasID := fields["id"]
		if _, ok := fields["method"]; !ok || !hasID {
			continue
		}
		if c := id[0]; c != '"' && c != '-' && (c < '0' || c > '9') {
			continue
		}
		dup := false
		for _, seen := range ids {
			dup = dup || bytes.Equal(seen, id)
		}
		if !dup {
			ids = append(ids, id)
		}
	}
	return ids
}
