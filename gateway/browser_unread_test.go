package gateway_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/chromedp"

	"github.com/ipcmesh/ipcmesh/election"
)

// held is a request of the page that the browser holds (page.hold).
type held struct {
	p  *page
	ev fetch.EventRequestPaused
}

// let lets the request go on: to the face, or, held with its answer, to
// the page.
func (h held) let() {
	h.p.t.Helper()
	if _, err := chromedp.Call(h.p.ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: h.ev.RequestID}); err != nil {
		h.p.t.Fatalf("let %s %s go on: %v", h.ev.Request.Method, h.ev.Request.URL, err)
	}
}

// hold has the browser hold the page's requests that match patterns (the
// Fetch domain's), each at its pattern's stage: before it leaves, or
// once the face has answered it and before the page sees the answer. The
// test takes them with next, in the order they come, and lets each go on.
func (p *page) hold(patterns ...*fetch.RequestPattern) <-chan held {
	p.t.Helper()
	paused := chromedp.Events(p.ctx, fetch.RequestPaused)
	if _, err := chromedp.Call(p.ctx, fetch.Enable, fetch.EnableParams{Patterns: patterns}); err != nil {
		p.t.Fatalf("intercept the page's requests: %v", err)
	}
	ch := make(chan held, 16)
	go func() {
		defer close(ch)
		for ev, err := range paused {
			if err != nil {
				return
			}
			select {
			case ch <- held{p, ev}:
			case <-p.ctx.Done():
				return
			}
		}
	}()
	return ch
}

// next returns the next request held, which must be what wants: a method
// and a part of its URL, with " answered" for one held with its answer.
func (p *page) next(ch <-chan held, want string) held {
	p.t.Helper()
	select {
	case h, ok := <-ch:
		if !ok {
			p.t.Fatalf("the page made no request %s: %v", want, p.ctx.Err())
		}
		got := h.ev.Request.Method + " " + h.ev.Request.URL
		if h.ev.ResponseStatusCode != 0 {
			got += " answered"
		}
		method, rest, _ := strings.Cut(want, " ")
		part, answered := strings.CutSuffix(rest, " answered")
		if h.ev.Request.Method != method || !strings.Contains(h.ev.Request.URL, part) || (h.ev.ResponseStatusCode != 0) != answered {
			p.t.Fatalf("the page's next request held is %s, want %s", got, want)
		}
		return h
	case <-time.After(stepTimeout):
		p.t.Fatalf("the page made no request %s within %v", want, stepTimeout)
	case <-p.ctx.Done():
		p.t.Fatalf("the page made no request %s: %v", want, p.ctx.Err())
	}
	return held{}
}

// Mail that comes into the open conversation while the page reads its
// unread mail is marked read as it comes, even when the read's answer was
// made before it was sent. The page took that answer for the whole
// unread mail: the message fell out of its count, which showed none, and
// out of the conversation's next ack, and was marked read only once a
// read after it came back; a reload in that moment found it unread.
func TestBrowserMailDuringAReadOfTheInbox(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	var reviewer *election.Peer
	f, p := signedIn(t, ctx, func(f *face) { reviewer = f.peerAs(t, ctx, "reviewer") })
	send := func(text string) {
		if _, err := reviewer.Send(ctx, "human", text); err != nil {
			t.Fatal(err)
		}
	}
	p.waitFor("reviewer in the list of instances", `!!document.querySelector('#instances [data-name="reviewer"]')`)
	p.clickRedrawn(`#instances [data-name="reviewer"]`)
	p.waitFor("the empty conversation with reviewer", `!document.getElementById('empty').hidden && document.getElementById('conv-title').textContent === 'reviewer'`)

	reqs := p.hold(
		&fetch.RequestPattern{URLPattern: "*/api/v1/messages/ack", RequestStage: fetch.RequestStageRequest},
		&fetch.RequestPattern{URLPattern: "*/api/v1/messages?limit=*", RequestStage: fetch.RequestStageResponse},
	)
	// The first message is on screen, and its ack on its way.
	send("the first")
	p.waitFor("the first message", messageShown("the first"))
	ackFirst := p.next(reqs, "POST /api/v1/messages/ack")

	// The face restarts; the page, back, reads its unread mail, and the
	// answer, the first message alone, is held on its way back.
	f.stop()
	p.waitFor("the page saying it is reconnecting", `document.getElementById('conn').dataset.state === 'down'`)
	f.start(t)
	p.waitFor("the page live again", `document.getElementById('conn').dataset.state === 'live'`)
	read := p.next(reqs, "GET /api/v1/messages?limit= answered")

	// The second message comes meanwhile, then the read's answer.
	send("the second")
	p.waitFor("the second message", messageShown("the second"))
	read.let()
	readAgain := p.next(reqs, "GET /api/v1/messages?limit= answered")

	// The first is marked read; the second goes in the next ack, while
	// the read again is still on its way, and is counted until then.
	ackFirst.let()
	ackSecond := p.next(reqs, "POST /api/v1/messages/ack")
	if n := eval[string](p, `document.getElementById('inbox-count').hidden ? 'none' : document.getElementById('inbox-count').textContent`); n != "1" {
		t.Errorf("the inbox's count shows %s while the second message is unread, want 1", n)
	}
	ackSecond.let()
	readAgain.let()
	go func() { // the reads after it, and the reload's, go on as they come
		for h := range reqs {
			chromedp.Call(p.ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: h.ev.RequestID})
		}
	}()
	p.waitFor("all of it marked read", `document.getElementById('inbox-count').hidden`)
	p.do(chromedp.Reload())
	p.waitFor("the page after a reload", `document.getElementById('conn').dataset.state === 'live'`)
	p.waitFor("no unread mail after a reload", `!document.querySelector('#messages .msg') && !document.getElementById('empty').hidden`)
	p.noProblems()
}
