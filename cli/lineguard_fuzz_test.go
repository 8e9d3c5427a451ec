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
		var why []string // what the answer to each line refused says
		for line := range bytes.Lines(in) {
			switch {
			case len(line) > max:
				refused = append(refused, line)
				why = append(why, "the request is "+human.Size(len(line))+", over the "+human.Size(max))
			case !utf8.Valid(line):
				refused = append(refused, line)
				why = append(why, "the request is not UTF-8")
			default:
				if _, w := unreadable(line); w != "" {
					refused = append(refused, line)
					why = append(why, "the line is not a JSON-RPC 2.0 message: "+w)
					continue
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
		unanswered := strings.Count(logged.String(), "it has no id to answer")
		if len(refused)-len(answered) != unanswered {
			t.Fatalf("limit %d: %d lines refused and %d answered, and the log says %q", max, len(refused), len(answered), logged.String())
		}
		// Which answer is which line's is not written in the answers: an
		// answer fits a line when it is a JSON-RPC error that says why the
		// line was refused, with an id written in the line, the one a
		// client wrote where the line has one. The answers fit the lines
		// in order, every line with a client's id answered, the rest
		// answered or logged. Two lines may fit one answer ("2\n{\"id\":2":
		// the first holds the second's id), so a fit is searched for, not
		// taken line by line.
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
