package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
)

// TestLineGuard: lines within the limit pass through unchanged; a longer
// one is left out, and answered with a JSON-RPC error for its id wherever
// the id is written, or only logged when it has none.
func TestLineGuard(t *testing.T) {
	long := strings.Repeat("x", 500)
	in := strings.Join([]string{
		`{"jsonrpc":"2.0","id":1,"method":"ping"}`,
		`{"jsonrpc":"2.0","id":"a\"b","method":"tools/call","params":{"content":"` + long + `"}}`,
		`{"jsonrpc":"2.0","method":"tools/call","params":{"content":"` + long + `"},"id":7}`,
		`{"jsonrpc":"2.0","method":"notifications/x","params":{"content":"` + long + `"}}`,
		`{"jsonrpc":"2.0","id":2,"method":"ping"}`,
		`{"jsonrpc":"2.0","id":3,"method":"ping"}`, // the last line has no newline
	}, "\n")
	got, answers, logged := guarded(t, in, 200)
	want := `{"jsonrpc":"2.0","id":1,"method":"ping"}` + "\n" + `{"jsonrpc":"2.0","id":2,"method":"ping"}` + "\n" + `{"jsonrpc":"2.0","id":3,"method":"ping"}`
	if got != want {
		t.Errorf("passed on:\n%s\nwant:\n%s", got, want)
	}
	var ids []string
	for _, a := range answers {
		if a.Error.Code != -32600 || !strings.Contains(a.Error.Message, "over the 200 bytes") || !strings.Contains(a.Error.Message, "send less") {
			t.Errorf("answer %+v does not refuse the request as too large", a)
		}
		ids = append(ids, string(a.ID))
	}
	if strings.Join(ids, " ") != `"a\"b" 7` {
		t.Errorf("answered ids %v, want \"a\\\"b\" and 7", ids)
	}
	if !strings.Contains(logged, "no id to answer") {
		t.Errorf("the message without an id was not logged: %s", logged)
	}
}

// rpcAnswer is a JSON-RPC error the guard wrote.
type rpcAnswer struct {
	ID    json.RawMessage
	Error struct {
		Code    int
		Message string
	}
}

// guarded runs the guard over the lines of in, max bytes a line at most,
// and returns what it passed on, the answers it wrote, and its log.
func guarded(t *testing.T, in string, max int) (passed string, answers []rpcAnswer, logged string) {
	t.Helper()
	var out, log bytes.Buffer
	g, _ := guardLines(strings.NewReader(in), &out, max, "send less", slog.New(slog.NewTextHandler(&log, nil)))
	g.patience = 0 // nothing answers what is passed on
	got, err := io.ReadAll(g)
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(out.String()) {
		var a rpcAnswer
		if err := json.Unmarshal([]byte(line), &a); err != nil {
			t.Fatalf("answer %q: %v", line, err)
		}
		answers = append(answers, a)
	}
	return string(got), answers, log.String()
}

// A request whose "method" is mistyped ("metod") has an id and nothing
// else the go-sdk can act on: it would take it for an answer to a call
// it never made and drop it, and the client would wait on. It is
// answered with an error for its id, as the README promises for a line
// that is not a JSON-RPC 2.0 message. Answers to the server's own calls,
// which carry a result or an error, pass.
func TestLineGuardAnswersARequestWithoutAMethod(t *testing.T) {
	bad := `{"jsonrpc":"2.0","id":6,"metod":"tools/list"}`
	good := []string{
		`{"jsonrpc":"2.0","id":"s","result":{}}`,
		`{"jsonrpc":"2.0","id":7,"error":{"code":-1,"message":"no"}}`,
		`{"jsonrpc":"2.0","id":8,"method":"ping"}`,
	}
	got, answers, _ := guarded(t, strings.Join(append([]string{bad}, good...), "\n"), 1<<20)
	if want := strings.Join(good, "\n"); got != want {
		t.Errorf("passed on:\n%s\nwant:\n%s", got, want)
	}
	if len(answers) != 1 || string(answers[0].ID) != "6" || answers[0].Error.Code != -32600 || !strings.Contains(answers[0].Error.Message, `no "method"`) {
		t.Errorf("answers %+v; want one error for id 6 saying it has no \"method\"", answers)
	}
}

// FuzzRequestID: whatever the kept start and end of a refused line, the
// id found is a JSON string or number.
func FuzzRequestID(f *testing.F) {
	f.Add([]byte(`{"jsonrpc":"2.0","id":12,"method":"tools/call","params":{"a":"`), []byte(`"}}`))
	f.Add([]byte(`{"params":{"x":"`), []byte(`xx"},"id":"q\"r"}`))
	f.Add([]byte(`[{"id":1}`), []byte(``))
	f.Add([]byte(`{"jsonrpc":"2.0","id":1e400,"method":"tools/call","params":{"a":"`), []byte(`"}}`))
	f.Fuzz(func(t *testing.T, head, tail []byte) {
		id, ok := requestID(head, tail)
		if !ok {
			return
		}
		// A number is kept as written: an id of 1e400 is JSON, and the
		// answer must carry it back as the client wrote it, though no
		// float64 holds it.
		d := json.NewDecoder(bytes.NewReader(id))
		d.UseNumber()
		var v any
		if err := d.Decode(&v); err != nil || d.More() {
			t.Fatalf("id %q is not one JSON value: %v", id, err)
		}
		switch v.(type) {
		case string, json.Number:
		default:
			t.Fatalf("id %q is neither a string nor a number", id)
		}
	})
}

// TestLineGuardRefusesNotUTF8: a line that is not UTF-8 (a tool call with
// Latin-1 text in it) is left out and answered with a JSON-RPC error that
// names the byte, rather than passed on to be read with U+FFFD in place
// of its bytes and carried out, its caller told it was done.
func TestLineGuardRefusesNotUTF8(t *testing.T) {
	in := strings.Join([]string{
		`{"jsonrpc":"2.0","id":1,"method":"ping"}`,
		`{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"send","arguments":{"to":"bob","content":"caf` + "\xe9" + `"}}}`,
		`{"jsonrpc":"2.0","method":"notifications/x","params":{"x":"` + "\xff" + `"}}`,
		`{"jsonrpc":"2.0","id":2,"method":"ping","params":{"x":"café"}}`,
	}, "\n")
	got, answers, logged := guarded(t, in, 1<<20)
	want := `{"jsonrpc":"2.0","id":1,"method":"ping"}` + "\n" + `{"jsonrpc":"2.0","id":2,"method":"ping","params":{"x":"café"}}`
	if got != want {
		t.Errorf("passed on:\n%s\nwant:\n%s", got, want)
	}
	if len(answers) != 1 || string(answers[0].ID) != "5" || answers[0].Error.Code != -32700 {
		t.Fatalf("answers %+v: want one, a parse error for id 5", answers)
	}
	for _, word := range []string{"not UTF-8", "0xE9", "nothing was done"} {
		if !strings.Contains(answers[0].Error.Message, word) {
			t.Errorf("answer %q should say %q", answers[0].Error.Message, word)
		}
	}
	if !strings.Contains(logged, "no id to answer") {
		t.Errorf("the message without an id was not logged: %s", logged)
	}
}

// TestLineGuardRefusesWhatIsNotJSONRPC: a line the go-sdk cannot read as
// a JSON-RPC message (bad JSON, a JSON value that is not an object, a
// version tag other than "2.0", an id of the wrong type, one too large
// for a float64, an id in the key "id" that only a case-blind reader
// finds, an answer without an id) is left out and
// answered with a JSON-RPC error when its id can be read, rather than
// passed on: the SDK ended the whole session on it, so that one broken
// line cost the assistant its tools, and calls still running their
// answers. Blank lines and batches are the SDK's to answer.
func TestLineGuardRefusesWhatIsNotJSONRPC(t *testing.T) {
	bad := map[string]string{
		`{bad`: "",
		`{"jsonrpc":"2.0","id":4,"method":"ping"`: "4",
		`42`:                "",
		`"x"`:               "",
		`[]`:                "",
		`{}`:                "",
		`{"jsonrpc":"2.0"}`: "",
		`{"jsonrpc":"1.0","id":5,"method":"ping"}`:         "5",
		`{"jsonrpc":2,"id":6,"method":"ping"}`:             "6",
		`{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}`:   "",
		`{"jsonrpc":"2.0","id":7,"method":3}`:              "7",
		`{"jsonrpc":"2.0","id":1e400,"method":"ping"}`:     "1e400",
		`{"jsonrpc":"2.0","id":{},"ID":8,"method":"ping"}`: "",
		`{"jsonrpc":"2.0","id":null,"result":{}}`:          "",
	}
	good := []string{
		`{"jsonrpc":"2.0","id":1,"method":"ping"}`,
		``,
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
		`[{"jsonrpc":"2.0","id":2,"method":"ping"}]`,
		`{"jsonrpc":"2.0","id":"s","result":{}}`,
	}
	var lines []string
	for line := range bad {
		lines = append(lines, line)
	}
	lines = append(lines, good...)
	got, answers, logged := guarded(t, strings.Join(lines, "\n"), 1<<20)
	if want := strings.Join(good, "\n"); got != want {
		t.Errorf("passed on:\n%s\nwant:\n%s", got, want)
	}
	answered := map[string]bool{}
	for _, a := range answers {
		if a.Error.Code != -32700 && a.Error.Code != -32600 || !strings.Contains(a.Error.Message, "nothing was done") {
			t.Errorf("answer %+v does not refuse the message", a)
		}
		answered[string(a.ID)] = true
	}
	for line, id := range bad {
		if id != "" && !answered[id] {
			t.Errorf("%s was not answered with its id %s: %+v", line, id, answers)
		}
	}
	if n := strings.Count(logged, "no id to answer"); n != 9 {
		t.Errorf("%d messages without an id were logged, want 9:\n%s", n, logged)
	}
}

// TestLineGuardEndsALineAtItsMessage: blanks after a message, before the
// line break, are left out of what is passed on: the go-sdk takes only a
// line break after a message, and ended the session on a line that a
// client padded with spaces or tabs. Blanks before the message, a
// carriage return before the line break and blank lines pass as they are.
func TestLineGuardEndsALineAtItsMessage(t *testing.T) {
	in := strings.Join([]string{
		`{"jsonrpc":"2.0","id":1,"method":"ping"}  ` + "\t",
		"  " + `{"jsonrpc":"2.0","id":2,"method":"ping"}` + " \r",
		`{"jsonrpc":"2.0","id":3,"method":"ping"}` + "\r",
		" \t",
		`{"jsonrpc":"2.0","id":4,"method":"ping"}` + "  ", // the last line has no newline
	}, "\n")
	got, answers, _ := guarded(t, in, 1<<20)
	want := strings.Join([]string{
		`{"jsonrpc":"2.0","id":1,"method":"ping"}`,
		"  " + `{"jsonrpc":"2.0","id":2,"method":"ping"}`,
		`{"jsonrpc":"2.0","id":3,"method":"ping"}` + "\r",
		" \t",
		`{"jsonrpc":"2.0","id":4,"method":"ping"}`,
	}, "\n")
	if got != want {
		t.Errorf("passed on:\n%q\nwant:\n%q", got, want)
	}
	if len(answers) != 0 {
		t.Errorf("answered %+v, want nothing", answers)
	}
}

// TestLineGuardBatchesTheLibraryCannotTake: a batch the go-sdk would end
// the session on is refused whole, each request in it answered with an
// error that says why and what to send instead: an empty one, one with a
// message that is not JSON-RPC, one with two requests of one id, one
// nested deeper than the SDK reads, one with the id of a request in an
// earlier batch not yet answered. The notifications of a batch go on a
// line each, before the rest: the SDK answers no batch that holds one,
// and ends the session on one that holds two.
func TestLineGuardBatchesTheLibraryCannotTake(t *testing.T) {
	deep := `{"jsonrpc":"2.0","id":6,"method":"ping","params":{"x":` + strings.Repeat("[", 998) + strings.Repeat("]", 998) + `}}`
	in := strings.Join([]string{
		`[ ]`,
		`[{"jsonrpc":"2.0","id":1,"method":"ping"},42]`,
		`[{"jsonrpc":"2.0","id":2,"method":"ping"},{"jsonrpc":"2.0","id":2.0,"method":"tools/list"}]`,
		`[` + deep + `]`,
		`[{"jsonrpc":"2.0","id":3,"method":"ping"},{"jsonrpc":"2.0","method":"notifications/a"},{"jsonrpc":"2.0","method":"notifications/b"}]`,
		`[{"jsonrpc":"2.0","id":3,"method":"ping"}]`,
		`[{"jsonrpc":"2.0","id":4,"method":"ping"},{"jsonrpc":"2.0","id":5,"method":"ping"}]`,
	}, "\n")
	got, answers, logged := guarded(t, in, 1<<20)
	want := strings.Join([]string{
		`{"jsonrpc":"2.0","method":"notifications/a"}`,
		`{"jsonrpc":"2.0","method":"notifications/b"}`,
		`[{"jsonrpc":"2.0","id":3,"method":"ping"}]`,
		`[{"jsonrpc":"2.0","id":4,"method":"ping"},{"jsonrpc":"2.0","id":5,"method":"ping"}]`,
	}, "\n")
	if got != want {
		t.Errorf("passed on:\n%s\nwant:\n%s", got, want)
	}
	wantAnswers := []struct{ id, says string }{
		{"1", "its message 2 is not a JSON-RPC 2.0 message: it is not a JSON object"},
		{"2", "two of its requests have the id 2"},
		{"2.0", "two of its requests have the id 2"},
		{"6", "it nests deeper than 1000 levels"},
		{"3", "its request 3 has the id of a request in an earlier batch, not yet answered"},
	}
	if len(answers) != len(wantAnswers) {
		t.Fatalf("answered %+v, want %d answers", answers, len(wantAnswers))
	}
	for i, w := range wantAnswers {
		a := answers[i]
		if string(a.ID) != w.id || a.Error.Code != -32600 {
			t.Errorf("answer %d is %+v, want an invalid request (-32600) for id %s", i, a, w.id)
		}
		for _, says := range []string{"the line is a JSON-RPC batch, and " + w.says, "nothing in it was done", "send one JSON-RPC 2.0 object per line"} {
			if !strings.Contains(a.Error.Message, says) {
				t.Errorf("answer %q does not say %q", a.Error.Message, says)
			}
		}
	}
	if n := strings.Count(logged, "it has no id to answer"); n != 1 {
		t.Errorf("%d batches without an id were logged, want the empty one:\n%s", n, logged)
	}
}

// logEvent is a log handler that signals seen when a record's message
// holds what: a test waits for what the guard does, not for time.
type logEvent struct {
	what string
	seen chan<- struct{}
}

func (h logEvent) Enabled(context.Context, slog.Level) bool { return true }

func (h logEvent) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, h.what) {
		select {
		case h.seen <- struct{}{}:
		default:
		}
	}
	return nil
}

func (h logEvent) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h logEvent) WithGroup(string) slog.Handler      { return h }

// TestLineGuardRefusesBatchesWhereTheVersionHasNone: a batch read under a
// protocol version without batches (2025-06-18 and later), which the
// go-sdk ends the session on, is refused, and each of its requests is
// answered with an error, alone on its line, that says so and to send
// one object a line. The version is the one in the server's answer to
// initialize: a batch read while that answer is awaited waits for it, as
// the SDK reads on while it answers. Under earlier versions the batch
// goes on, its notification on a line of its own.
func TestLineGuardRefusesBatchesWhereTheVersionHasNone(t *testing.T) {
	for _, c := range []struct {
		version string
		batches bool
	}{{"2024-11-05", true}, {"2025-03-26", true}, {"2025-06-18", false}, {"2025-11-25", false}} {
		t.Run(c.version, func(t *testing.T) {
			batch := `[{"jsonrpc":"2.0","id":2,"method":"tools/list"},{"jsonrpc":"2.0","id":"three","method":"ping"},{"jsonrpc":"2.0","method":"notifications/x"}]`
			ping := `{"jsonrpc":"2.0","id":4,"method":"ping"}`
			initialize := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"` + c.version + `"}}`
			var out bytes.Buffer
			waiting := make(chan struct{}, 1)
			g, server := guardLines(strings.NewReader(initialize+"\n"+batch+"\n"+ping+"\n"), &out, 1<<20, "send less",
				slog.New(logEvent{"a batch waits for the answer to initialize", waiting}))
			read, answered := make(chan struct{}), make(chan struct{})
			go func() {
				defer close(answered)
				select {
				case <-waiting:
					fmt.Fprintf(server, `{"jsonrpc":"2.0","id":1,"result":{"protocolVersion":%q}}`+"\n", c.version)
				case <-read: // the batch did not wait
				}
			}()
			var passed []string
			r := bufio.NewReader(g)
			for !slices.Contains(passed, ping+"\n") {
				line, err := r.ReadString('\n')
				if err != nil {
					t.Fatalf("after %q: %v", passed, err)
				}
				passed = append(passed, line)
			}
			close(read)
			<-answered

			want := []string{initialize + "\n", ping + "\n"}
			if c.batches {
				want = []string{initialize + "\n", `{"jsonrpc":"2.0","method":"notifications/x"}` + "\n",
					`[{"jsonrpc":"2.0","id":2,"method":"tools/list"},{"jsonrpc":"2.0","id":"three","method":"ping"}]` + "\n", ping + "\n"}
			}
			if !slices.Equal(passed, want) {
				t.Errorf("passed on %q, want %q", passed, want)
			}
			var ids []string
			for line := range strings.Lines(out.String()) {
				var a rpcAnswer
				if err := json.Unmarshal([]byte(line), &a); err != nil {
					t.Fatalf("answer %q: %v", line, err)
				}
				if a.Error.Message == "" {
					continue // the server's answer to initialize
				}
				ids = append(ids, string(a.ID))
				for _, says := range []string{"the line is a JSON-RPC batch, and MCP " + c.version + ", the protocol version agreed at initialize, has no batches", "nothing in it was done", "send one JSON-RPC 2.0 object per line"} {
					if a.Error.Code != -32600 || !strings.Contains(a.Error.Message, says) {
						t.Errorf("answer %s (%d) does not say %q", a.Error.Message, a.Error.Code, says)
					}
				}
			}
			wantIDs := []string{"2", `"three"`}
			if c.batches {
				wantIDs = nil
			}
			if !slices.Equal(ids, wantIDs) {
				t.Errorf("answered %v, want %v", ids, wantIDs)
			}
		})
	}
}

// TestLineGuardAwaitsTheAnswersOfABatch: the requests of a batch are
// awaited like any others (so stdin's end waits for their answers; the
// go-sdk dropped them, and the requests too, when stdin ended right after
// the batch), until the server writes its batch of answers; and their ids
// are in use until then, for a later batch that would reuse one.
func TestLineGuardAwaitsTheAnswersOfABatch(t *testing.T) {
	batch := `[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","id":"b","method":"tools/list"}]`
	var out bytes.Buffer
	g, server := guardLines(strings.NewReader(batch+"\n"), &out, 1<<20, "send less", slog.New(slog.DiscardHandler))
	r := bufio.NewReader(g)
	if line, err := r.ReadString('\n'); err != nil || line != batch+"\n" {
		t.Fatalf("passed on %q, %v; want the batch", line, err)
	}
	pending := func() int {
		g.answers.mu.Lock()
		defer g.answers.mu.Unlock()
		return len(g.answers.pending)
	}
	one, _ := jsonrpc.MakeID(float64(1))
	if n := pending(); n != 2 || !g.answers.inBatch(one) {
		t.Errorf("after the batch, %d requests are awaited and id 1 in a batch is %v; want 2 and true", n, g.answers.inBatch(one))
	}
	done := make(chan error)
	go func() {
		_, err := io.ReadAll(r) // the end waits for the answers
		done <- err
	}()
	io.WriteString(server, `[{"jsonrpc":"2.0","id":1,"result":{}},{"jsonrpc":"2.0","id":"b","result":{"tools":[]}}]`+"\n")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := pending(); n != 0 || g.answers.inBatch(one) {
		t.Errorf("after the answers, %d requests are awaited and id 1 in a batch is %v; want 0 and false", n, g.answers.inBatch(one))
	}
}
