package remote

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ipcmesh/ipcmesh/internal/untrusted"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// maxFailure bounds the words of a bridge that could not start: its own
// (about 300 bytes), the face's URL, and the face's message (maxDetail)
// or the reason it could not be reached.
const maxFailure = 2500

// FuzzFaceError starts the bridge of `ipcmesh mcp --remote` against a
// server on 127.0.0.1 that answers every request with an arbitrary
// status, reason phrase, Content-Type, Retry-After and body, as a face, a
// proxy in front of it or whoever holds its address may. The bridge
// cannot start, and says why: the words go to the terminal, or to the
// assistant's MCP log, that ran it. They must be one line of valid UTF-8
// with no control character (an ESC in a face's message would otherwise
// reach the terminal as it is) and bounded, whatever the body holds. A
// refusal (a 4xx but 404) names its status, passes on the message of a
// face-shaped JSON error ({"error": {"message": ...}}) when that message
// is plain text within the bound, and a Retry-After in seconds.
//
//	go test -run '^$' -fuzz '^FuzzFaceError$' -fuzztime 60s ./tools/remote/
func FuzzFaceError(f *testing.F) {
	// Seeds: testdata/fuzz/FuzzFaceError.
	f.Fuzz(func(t *testing.T, status uint16, reason, contentType, retryAfter string, body []byte) {
		// A CR or LF would make headers of its own: a Location would send
		// the bridge to another host than this test's.
		if strings.ContainsAny(reason+contentType+retryAfter, "\r\n") {
			return
		}
		code := 300 + int(status%300) // a 2xx would let the bridge start
		var head strings.Builder
		fmt.Fprintf(&head, "HTTP/1.1 %d %s\r\nContent-Length: %d\r\nConnection: close\r\n", code, reason, len(body))
		if contentType != "" {
			fmt.Fprintf(&head, "Content-Type: %s\r\n", contentType)
		}
		if retryAfter != "" {
			fmt.Fprintf(&head, "Retry-After: %s\r\n", retryAfter)
		}
		head.WriteString("\r\n")
		addr := answerAll(t, append([]byte(head.String()), body...))

		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		_, local := mcp.NewInMemoryTransports()
		err := Serve(ctx, Options{URL: "http://" + addr, Key: "ipk1_test", Version: "test"}, local)
		if err == nil {
			t.Fatalf("the bridge started against a face that answers %d", code)
		}
		msg := err.Error()
		if !utf8.ValidString(msg) || strings.ContainsFunc(msg, untrusted.Control) || len(msg) > maxFailure {
			t.Fatalf("status %d %q, body %q: the bridge says %q (%d bytes), not one line of plain text within %d bytes", code, reason, body, msg, len(msg), maxFailure)
		}
		if code/100 != 4 || code == http.StatusNotFound {
			return
		}
		if strings.ContainsFunc(contentType+retryAfter, func(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }) {
			return // net/http takes the answer for a broken connection
		}
		if !strings.Contains(msg, "refused the") || !strings.Contains(msg, strconv.Itoa(code)) {
			t.Fatalf("status %d: the bridge says %q, which does not say the face refused it with %d", code, msg, code)
		}
		var e struct {
			Error struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		words := ""
		if len(body) <= 4096 && json.Unmarshal(body, &e) == nil {
			words = strings.TrimSpace(e.Error.Message)
		}
		if words != "" && words == untrusted.Line(words) && len(words) <= maxDetail && !strings.Contains(msg, words) {
			t.Fatalf("status %d with the message %q: the bridge says %q, without it", code, words, msg)
		}
		if retryAfter != "" && strings.Trim(retryAfter, "0123456789") == "" && len(retryAfter) <= 9 && code != http.StatusUnauthorized &&
			!strings.Contains(msg, "wait "+retryAfter+" s") {
			t.Fatalf("status %d with Retry-After %q: the bridge says %q, without the wait", code, retryAfter, msg)
		}
	})
}

// answerAll serves on 127.0.0.1 until the test ends, answering every
// request with resp, whatever it asks, and returns its address.
func answerAll(t *testing.T, resp []byte) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				if r, err := http.ReadRequest(bufio.NewReader(c)); err == nil {
					io.Copy(io.Discard, r.Body)
				}
				c.Write(resp)
			})
		}
	})
	return ln.Addr().String()
}
