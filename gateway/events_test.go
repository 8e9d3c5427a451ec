package gateway

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/ipc"
)

// sse is one parsed server-sent event; a comment is an event with
// only comment set.
type sse struct {
	name, id, data, comment string
}

// stream is an open GET /api/v1/events.
type stream struct {
	t      testing.TB
	resp   *http.Response
	sc     *bufio.Scanner
	cancel context.CancelFunc
}

func (f *face) events(path, key string) *stream {
	f.t.Helper()
	return f.eventsWith(path, key, nil)
}

// eventsWith opens the stream at path with the request headers header
// besides the key's.
func (f *face) eventsWith(path, key string, header map[string]string) *stream {
	f.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	f.t.Cleanup(cancel)
	hr, _ := http.NewRequestWithContext(ctx, "GET", f.url+path, nil)
	if key != "" {
		hr.Header.Set("Authorization", "Bearer "+key)
	}
	for k, v := range header {
		hr.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		b, _ := io.ReadAll(resp.Body)
		f.t.Fatalf("GET %s: %d %s %s", path, resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	return &stream{t: f.t, resp: resp, sc: bufio.NewScanner(resp.Body), cancel: cancel}
}

// drop hangs up, as a client that lost its connection.
func (s *stream) drop() {
	s.cancel()
	s.resp.Body.Close()
}

// next reads the next event or comment; io.EOF when the stream ended.
func (s *stream) next() (sse, error) {
	var ev sse
	for s.sc.Scan() {
		line := s.sc.Text()
		switch {
		case line == "":
			if ev != (sse{}) {
				return ev, nil
			}
		case strings.HasPrefix(line, ":"):
			ev.comment = strings.TrimSpace(line[1:])
		case strings.HasPrefix(line, "event: "):
			ev.name = line[len("event: "):]
		case strings.HasPrefix(line, "id: "):
			ev.id = line[len("id: "):]
		case strings.HasPrefix(line, "data: "):
			ev.data = line[len("data: "):]
		default:
			s.t.Errorf("unexpected line %q in the event stream", line)
		}
	}
	if err := s.sc.Err(); err != nil {
		return ev, err
	}
	return ev, io.EOF
}

// nextEvent skips comments.
func (s *stream) nextEvent() sse {
	s.t.Helper()
	for {
		ev, err := s.next()
		if err != nil {
			s.t.Fatalf("read the event stream: %v", err)
		}
		if ev.name != "" {
			return ev
		}
	}
}

// ends reads to the end of the stream, which must come within 20 s.
func (s *stream) ends() {
	s.t.Helper()
	var late atomic.Bool
	timer := time.AfterFunc(20*time.Second, func() {
		late.Store(true)
		s.resp.Body.Close()
	})
	defer timer.Stop()
	for {
		ev, err := s.next()
		if late.Load() {
			s.t.Fatal("the stream did not end within 20 s")
		}
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			return // a cut connection ends it too
		}
		if ev.name == "message" {
			s.t.Errorf("a message after the end was due: %+v", ev)
		}
	}
}

func TestEvents(t *testing.T) { forEachLink(t, testEvents) }

func testEvents(t *testing.T, link func(*Options)) {
	f := newFace(t, link)
	f.srv.ping = 20 * time.Millisecond
	key := f.key("alice")
	bob := f.peer("bob")
	ctx := ctxT(t)
	if _, err := bob.Send(ctx, "alice", "waiting already"); err != nil {
		t.Fatal(err)
	}

	st := f.events("/api/v1/events", key)
	ready := st.nextEvent()
	var r registerResult
	if ready.name != "ready" || json.Unmarshal([]byte(ready.data), &r) != nil || r != (registerResult{Name: "alice", Unread: 1}) {
		t.Fatalf("first event = %+v, want ready with alice and 1 unread", ready)
	}
	sent, err := bob.Send(ctx, "alice", "hello\nalice")
	if err != nil {
		t.Fatal(err)
	}
	ev := st.nextEvent()
	var m ipcmesh.Message
	if ev.name != "message" || ev.id != sent.Message.ID || json.Unmarshal([]byte(ev.data), &m) != nil || m.Content != "hello\nalice" || m.From != "bob" {
		t.Fatalf("event = %+v, want message %s", ev, sent.Message.ID)
	}
	// Pings keep the stream alive.
	for {
		ev, err := st.next()
		if err != nil {
			t.Fatal(err)
		}
		if ev.comment == "ping" {
			break
		}
	}
	// Events do not mark mail read.
	var inbox struct{ Messages []ipcmesh.Message }
	f.ok(req{method: "GET", path: "/api/v1/messages", key: key}, 200, &inbox)
	if len(inbox.Messages) != 2 {
		t.Errorf("inbox holds %d messages, want 2", len(inbox.Messages))
	}

	// A second stream on another key of the name: revoking the first key
	// ends the first stream only.
	key2 := f.key("alice")
	st2 := f.events("/k/"+key2+"/api/v1/events", "")
	st2.nextEvent()
	info, err := f.ctl.CheckKey(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.ctl.RevokeKeys(ctx, info.ID, ""); err != nil {
		t.Fatal(err)
	}
	st.ends()
	if _, err := bob.Send(ctx, "alice", "still here?"); err != nil {
		t.Fatal(err)
	}
	if ev := st2.nextEvent(); ev.name != "message" || !strings.Contains(ev.data, "still here?") {
		t.Errorf("the other key's stream got %+v", ev)
	}
	// Close ends the rest.
	if err := f.srv.Close(); err != nil {
		t.Fatal(err)
	}
	st2.ends()
}

func TestEventsChannelPosts(t *testing.T) {
	f := newFace(t, nil)
	key := f.key("alice")
	bob := f.peer("bob")
	ctx := ctxT(t)
	st := f.events("/api/v1/events", key)
	st.nextEvent()
	if _, err := bob.CreateChannel(ctx, ipc.ChannelCreateRequest{Name: "ops", Members: []string{"alice"}}); err != nil {
		t.Fatal(err)
	}
	sent, err := bob.Send(ctx, "#ops", "deploy done")
	if err != nil {
		t.Fatal(err)
	}
	if ev := st.nextEvent(); ev.name != "message" || ev.id == "" || !strings.Contains(ev.data, `"channel":"ops"`) {
		t.Errorf("event = %+v, want the post %s", ev, sent.Message.ID)
	}
}
