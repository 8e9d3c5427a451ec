package gateway_test

// More of the web page in a real browser: each test starts its own mesh,
// face and chromium, and looks at one thing a person meets.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/ipcmesh/ipcmesh/election"
	"github.com/ipcmesh/ipcmesh/ipc"
)

// signedIn starts a face and a browser, runs setup on the mesh, and signs
// the page in as human with the face's key, its live stream connected.
func signedIn(t *testing.T, ctx context.Context, setup func(*face)) (*face, *page) {
	t.Helper()
	exe := findChromium(t)
	f := startFace(t, ctx)
	p := openBrowser(t, ctx, exe)
	if setup != nil {
		setup(f)
	}
	p.do(
		chromedp.Navigate(f.url+"/"),
		chromedp.WaitVisible(chromedp.ID("key-input")),
		chromedp.SendKeys(chromedp.ID("key-input"), f.key),
		chromedp.Click(chromedp.ID("sign-in")),
		chromedp.WaitVisible(chromedp.ID("app-view")),
	)
	p.waitFor("the live stream connected", `document.getElementById('conn').dataset.state === 'live'`)
	return f, p
}

// peerAs joins the face's mesh as an in-process peer registered as name.
func (f *face) peerAs(t *testing.T, ctx context.Context, name string) *election.Peer {
	t.Helper()
	peer, err := election.Join(ctx, f.mesh)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { peer.Close() })
	if _, err := peer.Register(ctx, name); err != nil {
		t.Fatal(err)
	}
	return peer
}

// failFirst has the browser fail the page's first request with method to
// a URL matching pattern (the Fetch domain's: '*' is any text), at stage,
// as a dropped connection does, and lets every other request through.
func (p *page) failFirst(pattern, method string, stage fetch.RequestStage, reason network.ErrorReason) {
	p.t.Helper()
	var failed sync.Once
	paused := chromedp.Events(p.ctx, fetch.RequestPaused)
	if _, err := chromedp.Call(p.ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: pattern, RequestStage: stage}}}); err != nil {
		p.t.Fatalf("intercept the page's requests: %v", err)
	}
	go func() {
		for ev, err := range paused {
			if err != nil {
				return
			}
			// Answered off the loop that delivers the events.
			go func() {
				fail := false
				if ev.Request.Method == method {
					failed.Do(func() { fail = true })
				}
				if fail {
					chromedp.Call(p.ctx, fetch.FailRequest, fetch.FailRequestParams{RequestID: ev.RequestID, ErrorReason: reason})
					return
				}
				chromedp.Call(p.ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID})
			}()
		}
	}()
}

// A send whose answer is lost (the face restarting, the network gone
// after the request went out) was stored all the same. The page says so,
// keeps the text, and sending it again delivers it once.
func TestBrowserSendAgainAfterLostAnswer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	var builder *election.Peer
	_, p := signedIn(t, ctx, func(f *face) { builder = f.peerAs(t, ctx, "builder") })
	p.waitFor("builder in the list of instances", `!!document.querySelector('#instances [data-name="builder"]')`)
	p.clickRedrawn(`#instances [data-name="builder"]`)
	p.waitFor("the conversation with builder", `document.getElementById('conv-title').textContent === 'builder'`)

	// The browser cuts the connection of the first send once the face has
	// answered it: the face stored the message, the page hears nothing.
	p.failFirst("*/api/v1/messages", "POST", fetch.RequestStageResponse, network.ErrorReasonConnectionReset)

	const text = "the release notes are ready for review"
	p.do(
		chromedp.Click(chromedp.ID("compose")),
		chromedp.SendKeys(chromedp.ID("compose"), text+kb.Enter),
		chromedp.WaitVisible(chromedp.ID("compose-error")),
	)
	said := eval[string](p, `document.getElementById('compose-error').textContent`)
	if !strings.Contains(said, "may not have been sent") || !strings.Contains(said, "Send it again") {
		t.Errorf("a send without an answer says %q: want it to say the message may not have been sent, and that sending it again is safe", said)
	}
	if v := eval[string](p, `document.getElementById('compose').value`); v != text {
		t.Fatalf("the compose box holds %q after the failed send, want the text kept", v)
	}

	// Sending it again is answered, and the message shows once.
	p.do(chromedp.SendKeys(chromedp.ID("compose"), kb.Enter))
	p.waitFor("the message sent again", messageShown(text))
	p.waitFor("the compose box emptied", `document.getElementById('compose').value === '' && document.getElementById('compose-error').hidden`)
	if n := eval[int](p, `[...document.querySelectorAll('#messages .msg .body')].filter(b => b.textContent === `+jsString(text)+`).length`); n != 1 {
		t.Errorf("the conversation shows the message %d times, want once", n)
	}
	mail, err := builder.Check(ctx, 100, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for _, m := range mail.Messages {
		if m.Content == text {
			got++
		}
	}
	if got != 1 {
		t.Errorf("builder received the message %d times, want once", got)
	}
	p.noProblems()
}

// jsString is s as a JavaScript string literal.
func jsString(s string) string {
	q, _ := json.Marshal(s)
	return string(q)
}

// More unread mail than the page loads at once: the inbox counts all of
// it, and once the first page is marked read the rest shows.
func TestBrowserInboxPastOnePage(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	const sent, page1 = 520, 500 // page1: the page's first page of unread mail
	_, p := signedIn(t, ctx, func(f *face) {
		reviewer := f.peerAs(t, ctx, "reviewer")
		for i := range sent {
			if _, err := reviewer.Send(ctx, "human", fmt.Sprintf("finding %d of the review", i+1)); err != nil {
				t.Fatal(err)
			}
		}
	})
	p.waitFor("the inbox's first page", fmt.Sprintf(`document.querySelectorAll('#messages .msg').length === %d`, page1))
	if n := eval[string](p, `document.getElementById('inbox-count').textContent`); n != fmt.Sprint(sent) {
		t.Errorf("the inbox count says %s, want %d", n, sent)
	}
	if sub := eval[string](p, `document.getElementById('conv-sub').textContent`); !strings.HasPrefix(sub, fmt.Sprintf("%d unread", sent)) {
		t.Errorf("the inbox says %q, want it to begin with %d unread", sub, sent)
	}

	p.clickRedrawn("#ack-all")
	left := sent - page1
	p.waitFor("the rest of the unread mail", fmt.Sprintf(
		`document.querySelectorAll('#messages .msg').length === %d && document.getElementById('inbox-count').textContent === '%d'`, left, left))
	if first := eval[string](p, `document.querySelector('#messages .msg .body').textContent`); first != fmt.Sprintf("finding %d of the review", page1+1) {
		t.Errorf("the inbox shows %q first after the first page was read, want finding %d", first, page1+1)
	}
	p.clickRedrawn("#ack-all")
	p.waitFor("the inbox emptied", `!document.querySelector('#messages .msg') && !document.getElementById('empty').hidden && document.getElementById('inbox-count').hidden`)
	// What the mesh holds, not only what the page believes.
	p.do(chromedp.Reload())
	p.waitFor("the inbox after a reload", `document.getElementById('conn').dataset.state === 'live'`)
	p.waitFor("no unread mail after a reload", `!document.querySelector('#messages .msg') && !document.getElementById('empty').hidden`)
	p.noProblems()
}

// Text another program wrote reads in its own direction, and a control
// character in it does not turn the page's own words around.
func TestBrowserRightToLeft(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	const (
		arabic = "مرحبا، هذه رسالة باللغة العربية."
		hebrew = "בודק את הבקשה"
		// U+202E, RIGHT-TO-LEFT OVERRIDE, left open: every character
		// after it in its paragraph is shown from right to left.
		override = "\u202eask before deploying"
	)
	_, p := signedIn(t, ctx, func(f *face) {
		builder := f.peerAs(t, ctx, "builder")
		if _, err := builder.Send(ctx, "human", arabic); err != nil {
			t.Fatal(err)
		}
		if _, err := builder.CreateChannel(ctx, ipc.ChannelCreateRequest{Name: "ops", Description: override, Members: []string{"human"}}); err != nil {
			t.Fatal(err)
		}
		reviewer := f.peerAs(t, ctx, "reviewer")
		if err := reviewer.SetStatus(ctx, hebrew, ""); err != nil {
			t.Fatal(err)
		}
	})

	// rightAligned: the text of the node is laid out from its right edge.
	const rightAligned = `((n) => { const r = document.createRange(); r.selectNodeContents(n);
		return getComputedStyle(n).direction === 'rtl' && Math.abs(n.getBoundingClientRect().right - r.getBoundingClientRect().right) < 2; })`
	p.waitFor("the Arabic message in the inbox", messageShown(arabic))
	if !eval[bool](p, rightAligned+`([...document.querySelectorAll('#messages .msg .body')].find(b => b.textContent === `+jsString(arabic)+`))`) {
		t.Error("the Arabic message is not laid out right to left from the right edge")
	}
	p.waitFor("reviewer's status in the sidebar", `!!document.querySelector('#instances [data-name="reviewer"] .sub')`)
	if !eval[bool](p, `getComputedStyle(document.querySelector('#instances [data-name="reviewer"] .sub')).direction === 'rtl'`) {
		t.Error("reviewer's Hebrew status in the sidebar is not laid out right to left")
	}

	// The channel's description comes before the page's own "2 members":
	// those words must still read from left to right.
	p.waitFor("the channel #ops", `!!document.querySelector('#channels [data-name="ops"]')`)
	p.clickRedrawn(`#channels [data-name="ops"]`)
	p.waitFor("the channel's line", `document.getElementById('conv-sub').textContent.includes('members')`)
	order := eval[string](p, `(() => {
		const sub = document.getElementById('conv-sub');
		const walk = document.createTreeWalker(sub, NodeFilter.SHOW_TEXT);
		for (let n; (n = walk.nextNode());) {
			const i = n.data.indexOf('members');
			if (i < 0) continue;
			const x = (k) => { const r = document.createRange(); r.setStart(n, k); r.setEnd(n, k + 1); return r.getBoundingClientRect().left; };
			return x(i) < x(i + 6) ? 'left to right' : 'right to left';
		}
		return 'missing';
	})()`)
	if order != "left to right" {
		t.Errorf("the page's word \"members\" after the channel's description reads %s, want left to right (the line shows %q)",
			order, eval[string](p, `document.getElementById('conv-sub').textContent`))
	}

	// What the person types reads in its own direction too.
	p.do(chromedp.SendKeys(chromedp.ID("compose"), hebrew))
	if !eval[bool](p, `getComputedStyle(document.getElementById('compose')).direction === 'rtl'`) {
		t.Error("Hebrew typed in the compose box is not laid out right to left")
	}
	p.noProblems()
}

// A key revoked while the page is open signs it out, saying why and what
// to do, in the face's words.
func TestBrowserRevokedKey(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	f, p := signedIn(t, ctx, nil)
	if _, err := f.admin.RevokeKeys(ctx, "", "human"); err != nil {
		t.Fatalf("revoke human's keys: %v", err)
	}
	p.waitFor("the sign-in form", `!document.getElementById('signin-view').hidden && !document.getElementById('signin-error').hidden`)
	said := eval[string](p, `document.getElementById('signin-error').textContent`)
	if !strings.Contains(said, "revoked") || !strings.Contains(said, "ipcmesh key create human") {
		t.Errorf("the page signed out with %q: want it to say the key was revoked and how to get a new one (ipcmesh key create human)", said)
	}
	if eval[bool](p, `sessionStorage.getItem('ipcmesh.key') !== null`) {
		t.Error("the revoked key is still kept in sessionStorage")
	}
	p.noProblems()
}

// A message paints only within itself: combining marks stacked on one
// letter ("Zalgo" text) are not drawn over the messages around it, where
// they could hide another sender's words.
func TestBrowserMarksStayInTheirMessage(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	var zalgo strings.Builder
	zalgo.WriteString("Z")
	for i := range 300 {
		zalgo.WriteRune(rune(0x300 + i%0x15)) // marks above, U+0300 to U+0314
	}
	for i := range 300 {
		zalgo.WriteRune(rune(0x316 + i%0x1d)) // marks below, U+0316 to U+0332
	}
	zalgo.WriteString(" ok")
	texts := []string{"do not deploy before the review", zalgo.String(), "the review found two problems"}
	_, p := signedIn(t, ctx, func(f *face) {
		builder := f.peerAs(t, ctx, "builder")
		for _, text := range texts {
			if _, err := builder.Send(ctx, "human", text); err != nil {
				t.Fatal(err)
			}
		}
	})
	p.clickRedrawn(`#instances [data-name="builder"]`)
	p.waitFor("the three messages", messageShown(texts[0])+" && "+messageShown(texts[2]))

	// Each neighbour's row as the page draws it, with the marks drawn and
	// with them hidden: the two must be the same picture.
	const bodyOf = `[...document.querySelectorAll('#messages .msg .body')].find(b => b.textContent === %s)`
	rowShot := func(text string) image.Image {
		t.Helper()
		raw := eval[string](p, fmt.Sprintf(`JSON.stringify((`+bodyOf+`).closest('.msg').getBoundingClientRect())`, jsString(text)))
		var r struct{ X, Y, Width, Height float64 }
		if err := json.Unmarshal([]byte(raw), &r); err != nil {
			t.Fatal(err)
		}
		shot, err := chromedp.Call(p.ctx, cdppage.CaptureScreenshot, cdppage.CaptureScreenshotParams{
			Clip: &cdppage.Viewport{X: r.X, Y: r.Y, Width: r.Width, Height: r.Height, Scale: 1}})
		if err != nil {
			t.Fatalf("screenshot: %v", err)
		}
		img, err := png.Decode(bytes.NewReader(shot.Data))
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	hide := func(hidden bool) {
		v := "visible"
		if hidden {
			v = "hidden"
		}
		eval[bool](p, fmt.Sprintf(`(`+bodyOf+`).style.visibility = %q, true`, jsString(texts[1]), v))
		p.waitFor("the marks "+v, fmt.Sprintf(`getComputedStyle(`+bodyOf+`).visibility === %q`, jsString(texts[1]), v))
	}
	for _, text := range []string{texts[0], texts[2]} {
		drawn := rowShot(text)
		hide(true)
		bare := rowShot(text)
		hide(false)
		if !sameImage(drawn, bare) {
			t.Errorf("the marks of the message before or after are drawn over the message %q", text)
		}
	}
	p.noProblems()
}

// sameImage reports whether a and b hold the same pixels.
func sameImage(a, b image.Image) bool {
	if a.Bounds() != b.Bounds() {
		return false
	}
	for y := a.Bounds().Min.Y; y < a.Bounds().Max.Y; y++ {
		for x := a.Bounds().Min.X; x < a.Bounds().Max.X; x++ {
			if a.At(x, y) != b.At(x, y) {
				return false
			}
		}
	}
	return true
}

// A burst of messages (a flood, or a stream catching up) keeps the page
// usable: the inbox stays at its one page and counts the rest, and a
// burst into the open conversation is all marked read.
func TestBrowserBurst(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	const page1, burst = 500, 300
	var reviewer *election.Peer
	send := func(from, n int) {
		for i := from; i < from+n; i++ {
			if _, err := reviewer.Send(ctx, "human", fmt.Sprintf("log line %d", i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	_, p := signedIn(t, ctx, func(f *face) {
		reviewer = f.peerAs(t, ctx, "reviewer")
		send(0, page1)
	})
	p.waitFor("the inbox's first page", fmt.Sprintf(`document.querySelectorAll('#messages .msg').length === %d`, page1))

	// The page is drawn anew for each message of a burst it was given
	// one at a time: a frozen page does not answer, and the wait fails.
	send(page1, burst)
	// The count in the sidebar comes at once, the inbox's line with the
	// next frame drawn.
	p.waitFor("the burst counted", fmt.Sprintf(`document.getElementById('inbox-count').textContent === '%[1]d' && document.getElementById('conv-sub').textContent.startsWith('%[1]d unread')`, page1+burst))
	if n := eval[int](p, `document.querySelectorAll('#messages .msg').length`); n != page1 {
		t.Errorf("the inbox shows %d messages after the burst, want its page of %d", n, page1)
	}

	// Open, the conversation marks everything read, the burst into it too.
	p.clickRedrawn(`#instances [data-name="reviewer"]`)
	p.waitFor("the conversation with reviewer", messageShown(fmt.Sprintf("log line %d", page1+burst-1)))
	send(page1+burst, 150)
	p.waitFor("the burst into the open conversation", messageShown(fmt.Sprintf("log line %d", page1+burst+149)))
	p.waitFor("all of it marked read", `document.getElementById('inbox-count').hidden && !document.querySelector('#instances [data-name="reviewer"] .count')`)
	p.do(chromedp.Reload())
	p.waitFor("the page after a reload", `document.getElementById('conn').dataset.state === 'live'`)
	p.waitFor("no unread mail after a reload", `!document.querySelector('#messages .msg') && !document.getElementById('empty').hidden`)
	p.noProblems()
}

// A message that comes while the page is cut off from the face (the face
// restarting, say) shows in the open conversation once the page is back,
// an empty conversation too.
func TestBrowserMissedWhileAway(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	var builder *election.Peer
	f, p := signedIn(t, ctx, func(f *face) { builder = f.peerAs(t, ctx, "builder") })
	p.waitFor("builder in the list of instances", `!!document.querySelector('#instances [data-name="builder"]')`)
	p.clickRedrawn(`#instances [data-name="builder"]`)
	p.waitFor("the empty conversation with builder", `!document.getElementById('empty').hidden && document.getElementById('conv-title').textContent === 'builder'`)

	f.stop()
	p.waitFor("the page saying it is reconnecting", `document.getElementById('conn').dataset.state === 'down' && document.getElementById('conn').textContent === 'reconnecting'`)
	const text = "sent while the page was away"
	if _, err := builder.Send(ctx, "human", text); err != nil {
		t.Fatal(err)
	}
	f.start(t)
	p.waitFor("the page live again", `document.getElementById('conn').dataset.state === 'live'`)
	p.waitFor("the message sent while the page was away", messageShown(text))

	// More than a page of them: the newest show, and the rest are a
	// "Load older messages" away.
	f.stop()
	p.waitFor("the page saying it is reconnecting", `document.getElementById('conn').dataset.state === 'down'`)
	const missed = 60
	for i := range missed {
		if _, err := builder.Send(ctx, "human", fmt.Sprintf("missed %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	f.start(t)
	p.waitFor("the newest message missed", messageShown(fmt.Sprintf("missed %d", missed-1)))
	p.waitFor("the button that loads older messages", `!document.getElementById('load-older').hidden`)
	p.clickRedrawn("#load-older")
	p.waitFor("the oldest message missed", messageShown("missed 0"))
	p.noProblems()
}

// A reload whose sign-in gets no answer (a network hiccup, the face
// restarting) keeps the key: Sign in tries it again. Keys are printed
// once, when made.
func TestBrowserReloadWithoutAnswerKeepsKey(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	_, p := signedIn(t, ctx, nil)

	// The browser fails the page's first request for who the key is,
	// as a dropped connection does.
	p.failFirst("*/api/v1/me", "GET", fetch.RequestStageRequest, network.ErrorReasonConnectionRefused)

	p.do(chromedp.Reload())
	p.waitFor("the sign-in form with an error", `!document.getElementById('signin-view').hidden && !document.getElementById('signin-error').hidden`)
	t.Logf("a reload without an answer shows: %q", eval[string](p, `document.getElementById('signin-error').textContent`))
	p.do(chromedp.Click(chromedp.ID("sign-in")))
	p.waitFor("the page signed in again with the kept key", `!document.getElementById('app-view').hidden && document.getElementById('me-name').textContent === 'human'`)
	p.noProblems()
}

// A channel's line counts its members in words a person writes.
func TestBrowserChannelMembers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	_, p := signedIn(t, ctx, func(f *face) {
		builder := f.peerAs(t, ctx, "builder")
		for _, ch := range []ipc.ChannelCreateRequest{{Name: "solo", Description: "builder's notes"}, {Name: "pair", Members: []string{"human"}}} {
			if _, err := builder.CreateChannel(ctx, ch); err != nil {
				t.Fatal(err)
			}
		}
	})
	for name, want := range map[string]string{"solo": "builder's notes · 1 member", "pair": "2 members"} {
		p.waitFor("the channel #"+name, fmt.Sprintf(`!!document.querySelector('#channels [data-name="%s"]')`, name))
		p.clickRedrawn(fmt.Sprintf(`#channels [data-name="%s"]`, name))
		p.waitFor("#"+name+" open", fmt.Sprintf(`document.getElementById('conv-title').textContent === '#%s'`, name))
		if got := eval[string](p, `document.getElementById('conv-sub').textContent`); got != want {
			t.Errorf("#%s's line says %q, want %q", name, got, want)
		}
	}
	p.noProblems()
}

// A long message shows its first lines until "Show more", and a large
// one its summary until "Show all", which says its size as people read
// it; both fold again with "Show less". A large message whose body the
// face answers in pages shows whole too.
func TestBrowserLongMessages(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	var long, large, paged strings.Builder
	for i := range 100 {
		fmt.Fprintf(&long, "line %d of the test log\n", i)
	}
	long.WriteString("the end of the log")
	for i := range 1000 {
		fmt.Fprintf(&large, "%04d %s\n", i, strings.Repeat("x", 35)) // 41 bytes a line
	}
	for i := range 6400 {
		fmt.Fprintf(&paged, "%04d <%s> é€😀\n", i, strings.Repeat("x", 30)) // 48 bytes, 58 in JSON: 5 pages
	}
	var ids []string
	_, p := signedIn(t, ctx, func(f *face) {
		builder := f.peerAs(t, ctx, "builder")
		for _, text := range []string{long.String(), large.String(), paged.String()} {
			r, err := builder.Send(ctx, "human", text)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, r.Message.ID)
		}
	})
	p.clickRedrawn(`#instances [data-name="builder"]`)
	row := func(id, sel string) string {
		return fmt.Sprintf(`document.querySelector('#messages .msg[data-id="%s"] %s')`, id, sel)
	}
	// shown: the body's last line is on screen, not cut off.
	shown := func(id string) string {
		return fmt.Sprintf(`((b) => b.scrollHeight <= b.clientHeight + 1)(%s)`, row(id, ".body"))
	}
	button := func(id string) string { return eval[string](p, row(id, "button.more")+`?.textContent ?? 'no button'`) }

	longID, largeID := ids[0], ids[1]
	p.waitFor("the long message", "!!"+row(longID, ".body"))
	if eval[bool](p, shown(longID)) {
		t.Errorf("the long message shows whole (%d px tall), want its first lines", eval[int](p, row(longID, ".body")+".clientHeight"))
	}
	if got := button(longID); got != "Show more" {
		t.Fatalf("the long message's button says %q, want Show more", got)
	}
	p.clickRedrawn(fmt.Sprintf(`#messages .msg[data-id="%s"] button.more`, longID))
	p.waitFor("the long message whole", shown(longID))
	if got := button(longID); got != "Show less" {
		t.Errorf("the button of the long message shown whole says %q, want Show less", got)
	}
	p.clickRedrawn(fmt.Sprintf(`#messages .msg[data-id="%s"] button.more`, longID))
	p.waitFor("the long message folded again", "!"+shown(longID))

	if got := button(largeID); got != "Show all (40.0 KiB)" {
		t.Errorf("the large message's button says %q, want Show all (40.0 KiB)", got)
	}
	summary := eval[string](p, row(largeID, ".body")+".textContent")
	p.clickRedrawn(fmt.Sprintf(`#messages .msg[data-id="%s"] button.more`, largeID))
	p.waitFor("the large message whole", fmt.Sprintf(`%s.textContent === %s`, row(largeID, ".body"), jsString(large.String())))
	if got := button(largeID); got != "Show less" {
		t.Errorf("the button of the large message shown whole says %q, want Show less", got)
	}
	p.clickRedrawn(fmt.Sprintf(`#messages .msg[data-id="%s"] button.more`, largeID))
	p.waitFor("the large message's summary again", fmt.Sprintf(`%s.textContent === %s`, row(largeID, ".body"), jsString(summary)))

	pagedID := ids[2]
	if got := button(pagedID); got != "Show all (300.0 KiB)" {
		t.Errorf("the paged message's button says %q, want Show all (300.0 KiB)", got)
	}
	p.clickRedrawn(fmt.Sprintf(`#messages .msg[data-id="%s"] button.more`, pagedID))
	p.waitFor("the paged message whole", fmt.Sprintf(`%s.textContent === %s`, row(pagedID, ".body"), jsString(paged.String())))
	p.noProblems()
}

// When the face refuses the page's live stream, not for its key but for
// what became of its name (renamed away here), the page says so in the
// face's words instead of only reconnecting.
func TestBrowserStreamRefusedSaysWhy(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	f, p := signedIn(t, ctx, nil)
	if eval[bool](p, `!!document.getElementById('notice') && !document.getElementById('notice').hidden`) {
		t.Error("a notice shows while the stream is live")
	}
	// The face's data folder holds the session of the name it acts as.
	f.ipcmesh(t, "rename", "--as", "human", "human-away")
	p.waitFor("a notice of why the live updates stopped", `!!document.getElementById('notice') && !document.getElementById('notice').hidden`)
	said := eval[string](p, `document.getElementById('notice').textContent`)
	if !strings.Contains(said, "renamed to human-away") || !strings.Contains(said, "ipcmesh key create human-away") {
		t.Errorf("the notice says %q: want the face's words, that human was renamed to human-away and how to act as it", said)
	}
	if s := eval[string](p, `document.getElementById('conn').dataset.state`); s != "down" {
		t.Errorf("the stream's state is %q, want down", s)
	}
	p.noProblems()
}

// A message coming into the open inbox adds itself and changes nothing
// else: keyboard focus stays where it was, and the inbox (a live region)
// tells a screen reader of the new message alone, not of all again.
func TestBrowserInboxKeepsWhatIsShown(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	var reviewer *election.Peer
	var first string
	_, p := signedIn(t, ctx, func(f *face) {
		reviewer = f.peerAs(t, ctx, "reviewer")
		for i := range 3 {
			r, err := reviewer.Send(ctx, "human", fmt.Sprintf("finding %d", i))
			if err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				first = r.Message.ID
			}
		}
	})
	p.waitFor("the inbox's three messages", `document.querySelectorAll('#messages .msg').length === 3`)
	eval[bool](p, fmt.Sprintf(`(() => {
		document.querySelector('#messages .msg[data-id="%s"] [data-ack]').focus();
		window.changes = {added: [], removed: 0};
		new MutationObserver((records) => {
			for (const r of records) {
				window.changes.removed += r.removedNodes.length;
				for (const n of r.addedNodes) window.changes.added.push(n.textContent);
			}
		}).observe(document.getElementById('messages'), {childList: true});
		return true;
	})()`, first))

	if _, err := reviewer.Send(ctx, "human", "finding 3"); err != nil {
		t.Fatal(err)
	}
	p.waitFor("the new message", messageShown("finding 3"))
	p.waitFor("the inbox's line", `document.getElementById('conv-sub').textContent === '4 unread'`)
	var changes struct {
		Added   []string
		Removed int
	}
	if err := json.Unmarshal([]byte(eval[string](p, `JSON.stringify(window.changes)`)), &changes); err != nil {
		t.Fatal(err)
	}
	if changes.Removed != 0 || len(changes.Added) != 1 || !strings.Contains(changes.Added[0], "finding 3") {
		t.Errorf("a new message in the inbox removed %d rows and added %d, want it added alone", changes.Removed, len(changes.Added))
	}
	if got := eval[string](p, `document.activeElement.closest('.msg')?.dataset.id ?? document.activeElement.tagName`); got != first {
		t.Errorf("focus moved to %s when a message came, want it kept on the first message's Mark read", got)
	}
	p.noProblems()
}
