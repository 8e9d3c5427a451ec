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
//     counted), whole and in order, and then the input's end;
//   - every line over the limit is either answered, with one JSON-RPC
//     error line that says its size and the limit and carries an id
//     written in that line, or logged as having no id to answer, and
//     nothing else is written;
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
		for line := range bytes.Lines(in) {
			if len(line) <= max {
				want = append(want, line...)
			} else {
				refused = append(refused, line)
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
		for _, line := range refused {
			wantID, must := soleID(line)
			must = must && len(line) <= headSize
			if len(answered) == 0 || !answersLine(answered[0], line) {
				if must {
					t.Fatalf("limit %d: the line %q, with id %s, was refused and not answered (answers %q)", max, line, wantID, answered)
				}
				unanswered--
				continue
			}
			var a struct {
				JSONRPC string          `json:"jsonrpc"`
				ID      json.RawMessage `json:"id"`
				Error   struct {
					Code    int    `json:"code"`
					Message string `json:"message"`
				} `json:"error"`
			}
			if err := json.Unmarshal([]byte(answered[0]), &a); err != nil {
				t.Fatal(err) // answersLine read it
			}
			if must && !bytes.Equal(a.ID, wantID) {
				t.Fatalf("limit %d: the line %q was answered with id %s, want %s", max, line, a.ID, wantID)
			}
			if a.JSONRPC != "2.0" || a.Error.Code != -32600 || !strings.Contains(a.Error.Message, "the request is "+human.Size(len(line))+", over the "+human.Size(max)) ||
				!strings.HasSuffix(a.Error.Message, "send less") {
				t.Fatalf("limit %d: the line %q (%d bytes) was answered with %s", max, line, len(line), answered[0])
			}
			answered = answered[1:]
		}
		if len(answered) > 0 {
			t.Fatalf("limit %d: answers %q for no line refused (%q)", max, answered, refused)
		}
		if unanswered != 0 {
			t.Fatalf("limit %d: %d lines refused, answered or not, and the log says %q", max, len(refused), logged.String())
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
