package gateway_test

// The web page, tested in a real browser: a headless chromium driven over
// the DevTools protocol signs in with a key, shows mail sent by the real
// ipcmesh binary as it arrives, and sends mail the binary then reads.

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/ipcmesh/ipcmesh/election"
	"github.com/ipcmesh/ipcmesh/gateway"
	"github.com/ipcmesh/ipcmesh/internal/testbin"
	"github.com/ipcmesh/ipcmesh/ipc"
)

// Generous bounds: they turn a hang into a failure with a message and never
// decide whether something was fast enough.
const (
	stepTimeout = 10 * time.Second // one browser step, or a message showing up
	runTimeout  = 60 * time.Second // one ipcmesh command
	testTimeout = 3 * time.Minute  // the whole browser session
)

// ipcmeshBin is the binary the browser test's CLI commands run, built
// once by TestMain without -race: the test drives the product as users run
// it.
var ipcmeshBin string

func TestMain(m *testing.M) { os.Exit(testbin.Main(m, &ipcmeshBin, false)) }

// findChromium returns the browser to drive. Without one the test is
// skipped on a developer's machine and fails in CI, which installs it.
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "" {
		t.Skip("no chromium, chromium-browser or google-chrome on PATH: the browser test needs one (apt-get install chromium)")
	}
	t.Fatal("CI is set but no chromium, chromium-browser or google-chrome is on PATH: install one (apt-get install -y chromium)")
	return ""
}

// face is a mesh with the HTTP face in front of it, and the environment the
// ipcmesh binary needs to join the same mesh.
type face struct {
	url   string
	key   string
	env   []string
	mesh  election.Config
	admin *election.Peer
	ctx   context.Context
	srv   *gateway.Server
	hs    *httptest.Server
}

func startFace(t *testing.T, ctx context.Context) *face {
	t.Helper()
	dir := t.TempDir()
	port := freePort(t)
	vars := map[string]string{
		"IPC_HOST":     "127.0.0.1",
		"IPC_PORT":     strconv.Itoa(port),
		"IPC_DATA_DIR": dir,
	}
	// The data folder's secret file, made here, is the mesh secret of the
	// in-process peers and of the binary alike.
	cfg, err := election.FromEnv(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	admin, err := election.Join(ctx, cfg)
	if err != nil {
		t.Fatalf("join the mesh: %v", err)
	}
	t.Cleanup(func() { admin.Close() })
	created, err := admin.CreateKey(ctx, "human", "browser test")
	if err != nil {
		t.Fatalf("create a key for human: %v", err)
	}

	env := testbin.CleanEnviron()
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	f := &face{key: created.Key, env: env, mesh: cfg, admin: admin, ctx: ctx}
	f.serve(t, net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t))))
	f.url = f.hs.URL
	return f
}

// serve starts the HTTP face on addr.
func (f *face) serve(t *testing.T, addr string) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := gateway.New(f.ctx, gateway.Options{Mesh: f.mesh, Addr: ln.Addr().String()})
	if err != nil {
		ln.Close()
		t.Fatalf("gateway.New: %v", err)
	}
	hs := httptest.NewUnstartedServer(nil)
	srv.ConfigureServer(hs.Config)
	hs.Listener.Close()
	hs.Listener = ln
	hs.Start()
	// Cleanups run last first: the face ends its event streams before the
	// HTTP server waits for its requests to finish. Both may have been
	// closed already (stop).
	t.Cleanup(hs.Close)
	t.Cleanup(func() { srv.Close() })
	f.srv, f.hs = srv, hs
}

// stop stops the HTTP face, as a restart of its process does: its
// streams end, its address refuses connections. The mesh runs on.
func (f *face) stop() {
	f.srv.Close()
	f.hs.CloseClientConnections()
	f.hs.Close()
}

// start starts a new HTTP face on the address of the stopped one.
func (f *face) start(t *testing.T) {
	t.Helper()
	f.serve(t, strings.TrimPrefix(f.url, "http://"))
}

// freePort is a port below those the system hands out by itself, as
// freeport picks for a mesh: the face binds its port again when it
// restarts, while the page redials it, and a port of the system's own
// (from 127.0.0.1:0) may meanwhile be the local end of any connection,
// the page's redial to it among them.
func freePort(t *testing.T) int {
	t.Helper()
	_, port, err := net.SplitHostPort(testbin.FreeAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// ipcmesh runs the binary on the face's mesh and fails the test unless it
// exits 0. It returns stdout and when the process had exited.
func (f *face) ipcmesh(t *testing.T, args ...string) (string, time.Time) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, ipcmeshBin, args...)
	cmd.Env = f.env
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	exited := time.Now()
	if err != nil {
		t.Fatalf("ipcmesh %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String(), exited
}

// page is one browser tab.
type page struct {
	t   *testing.T
	ctx context.Context

	mu       sync.Mutex
	problems []string // uncaught exceptions and security errors
}

func openBrowser(t *testing.T, parent context.Context, exe string) *page {
	t.Helper()
	// Chromium itself sometimes dies of a segmentation fault before it
	// listens (about one start in fifty on a loaded machine, the same
	// with the browser started by hand): such a start is tried again, a
	// browser that starts and then fails fails the test.
	for try := 1; ; try++ {
		p, err := startBrowser(t, parent, exe)
		if err == nil {
			return p
		}
		if try == 3 || !strings.Contains(err.Error(), "chrome failed to start") {
			t.Fatalf("start %s: %v", exe, err)
		}
		t.Logf("start %s, try %d: %v", exe, try, err)
	}
}

// startBrowser starts a browser and opens a page in it; the browser is
// stopped when the test ends, or at once if the start failed.
func startBrowser(t *testing.T, parent context.Context, exe string) (*page, error) {
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1200, 760),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(parent, opts...)
	ctx, cancelTab := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	stop := func() {
		cancelTab()
		cancelAlloc()
	}
	p := &page{t: t, ctx: ctx}
	// The first action starts the browser, which lives as long as the
	// context of that call: ctx, bounded by the test's own timeout.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1200, 760)); err != nil {
		stop()
		return nil, err
	}
	t.Cleanup(stop)
	// Content-Security-Policy violations are reported in the log.
	logs := chromedp.Events(ctx, cdplog.EntryAdded)
	if _, err := chromedp.Call(ctx, cdplog.Enable, cdp.Empty{}); err != nil {
		return nil, fmt.Errorf("enable the browser log: %w", err)
	}
	go func() {
		for ev, err := range logs {
			if err != nil {
				return
			}
			if e := ev.Entry; e.Source == cdplog.EntrySourceSecurity {
				p.mu.Lock()
				p.problems = append(p.problems, fmt.Sprintf("%s: %s", e.URL, e.Text))
				p.mu.Unlock()
			}
		}
	}()
	go func() {
		for ev, err := range chromedp.Events(ctx, runtime.ExceptionThrown) {
			if err != nil {
				return
			}
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil && d.Exception.Description != "" {
				msg += " " + d.Exception.Description
			}
			p.mu.Lock()
			p.problems = append(p.problems, fmt.Sprintf("uncaught exception at %s:%d: %s", d.URL, d.LineNumber+1, msg))
			p.mu.Unlock()
		}
	}()
	return p, nil
}

// do runs actions, each step bounded.
func (p *page) do(actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.t.Fatalf("browser: %v\npage text:\n%s", err, p.text())
	}
}

// clickRedrawn clicks what selector finds in one step of the page's own
// script. The sidebar and the inbox are drawn anew whenever a list loads
// or an event comes, and chromedp.Click, which finds its node and clicks
// it in separate steps, failed now and then with "Could not find node
// with given id" when a redraw came in between.
func (p *page) clickRedrawn(selector string) {
	p.t.Helper()
	q, _ := json.Marshal(selector)
	click := fmt.Sprintf(`(() => { const e = document.querySelector(%s); if (!e) return false; e.click(); return true; })()`, q)
	if !eval[bool](p, click) {
		p.t.Fatalf("nothing on the page to click at %s\npage text:\n%s", selector, p.text())
	}
}

// eval evaluates a JavaScript expression in the page into v.
func eval[T any](p *page, expr string) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		p.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitFor waits until the JavaScript expression is truthy, checking it on
// every animation frame (layout changes too, not only the DOM).
func (p *page) waitFor(what, expr string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(stepTimeout)))
	if err != nil {
		p.t.Fatalf("the page did not show %s within %v: %v\npage text:\n%s", what, stepTimeout, err, p.text())
	}
}

func (p *page) text() string {
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
	if err != nil {
		return "(unreadable: " + err.Error() + ")"
	}
	return s
}

func (p *page) screenshot(path string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, stepTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		p.t.Fatal(err)
	}
}

// noProblems fails the test for every uncaught exception and security error
// (a Content-Security-Policy violation, say) the page ran into.
func (p *page) noProblems() {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, e := range p.problems {
		p.t.Errorf("the page: %s", e)
	}
}

// messageShown is a JavaScript test for a message with this exact text in
// the open conversation.
func messageShown(text string) string {
	q, _ := json.Marshal(text)
	return fmt.Sprintf(`[...document.querySelectorAll('#messages .msg .body')].some(b => b.textContent === %s && b.offsetParent !== null)`, q)
}

func TestBrowserPage(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	exe := findChromium(t)
	// The face first: cleanups run last first, so the browser goes away
	// before the face closes its streams.
	f := startFace(t, ctx)
	p := openBrowser(t, ctx, exe)

	// Others on the mesh, so the page has someone to show: builder is the
	// ipcmesh binary; reviewer an in-process peer that stays online.
	f.ipcmesh(t, "register", "builder")
	reviewer, err := election.Join(ctx, f.mesh)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reviewer.Close() })
	if _, err := reviewer.Register(ctx, "reviewer"); err != nil {
		t.Fatal(err)
	}
	if err := reviewer.SetStatus(ctx, "reviewing the SSE parser", "reviews pull requests"); err != nil {
		t.Fatal(err)
	}
	if _, err := reviewer.CreateChannel(ctx, ipc.ChannelCreateRequest{Name: "dev", Description: "day to day work", Members: []string{"builder", "human"}}); err != nil {
		t.Fatal(err)
	}
	f.ipcmesh(t, "send", "--as", "builder", "--type", "status", "human", "Build of ipcmesh finished: all tests passed.")

	// A bad key is refused with the server's message.
	p.do(
		chromedp.Navigate(f.url+"/"),
		chromedp.WaitVisible(chromedp.ID("key-input")),
		chromedp.SendKeys(chromedp.ID("key-input"), "ipk1_0000000000000000_00000000000000000000000000000000"),
		chromedp.Click(chromedp.ID("sign-in")),
		chromedp.WaitVisible(chromedp.ID("signin-error")),
	)
	if msg := eval[string](p, `document.getElementById('signin-error').textContent`); strings.TrimSpace(msg) == "" {
		t.Error("a refused key shows an empty error")
	} else {
		t.Logf("a bad key shows: %q", msg)
	}

	// The right key signs in as human.
	p.do(
		chromedp.Evaluate[chromedp.Void](`document.getElementById('key-input').value = ''`),
		chromedp.SendKeys(chromedp.ID("key-input"), f.key),
		chromedp.Click(chromedp.ID("sign-in")),
		chromedp.WaitVisible(chromedp.ID("app-view")),
	)
	p.waitFor("who is signed in", `document.getElementById('me-name').textContent === 'human'`)
	p.waitFor("the live stream connected", `document.getElementById('conn').dataset.state === 'live'`)
	p.waitFor("builder and reviewer in the list of instances",
		`!!document.querySelector('#instances [data-name="builder"]') && !!document.querySelector('#instances [data-name="reviewer"]')`)
	p.waitFor("the channel #dev", `!!document.querySelector('#channels [data-name="dev"]')`)
	if first := eval[string](p, `document.querySelector('#instances [data-name]').dataset.name`); first != "reviewer" {
		t.Errorf("the first instance listed is %q, want reviewer, the one online", first)
	}
	if key := eval[string](p, `sessionStorage.getItem('ipcmesh.key')`); key != f.key {
		t.Error("the key is not kept in sessionStorage")
	}
	// A reload keeps the session, and the key is not left in the form.
	p.do(chromedp.Reload())
	p.waitFor("the signed-in page after a reload", `document.getElementById('me-name').textContent === 'human' && !document.getElementById('app-view').hidden`)
	if eval[bool](p, `document.getElementById('key-input').value !== ''`) {
		t.Error("the key is still in the sign-in form once signed in")
	}
	p.waitFor("the live stream connected after the reload", `document.getElementById('conn').dataset.state === 'live'`)

	// The conversation with builder: its earlier message from history.
	p.clickRedrawn(`#instances [data-name="builder"]`)
	p.waitFor("builder's earlier message", messageShown("Build of ipcmesh finished: all tests passed."))

	// A message sent by the CLI shows up live.
	const fromCLI = "hello from the cli"
	started := time.Now()
	_, exited := f.ipcmesh(t, "send", "--as", "builder", "human", fromCLI)
	p.waitFor("the message sent by the CLI", messageShown(fromCLI))
	shown := time.Now()
	t.Logf("the message sent by the CLI showed on the page %v after the CLI exited (%v after it started)",
		shown.Sub(exited).Round(time.Millisecond), shown.Sub(started).Round(time.Millisecond))

	// A message typed on the page (Enter sends) reaches a CLI check.
	const fromPage = "hello from the page"
	p.do(
		chromedp.Click(chromedp.ID("compose")),
		chromedp.SendKeys(chromedp.ID("compose"), fromPage+kb.Enter),
	)
	p.waitFor("the message sent from the page", messageShown(fromPage))
	if v := eval[string](p, `document.getElementById('compose').value`); v != "" {
		t.Errorf("the compose box holds %q after sending, want it empty", v)
	}
	out, _ := f.ipcmesh(t, "check", "--as", "builder", "--json")
	var check ipc.CheckResult
	if err := json.Unmarshal([]byte(out), &check); err != nil {
		t.Fatalf("ipcmesh check --json printed something else (%v):\n%s", err, out)
	}
	found := false
	for _, m := range check.Messages {
		if m.Content == fromPage {
			found = true
			if m.From != "human" || m.To != "builder" {
				t.Errorf("the message from the page is from %q to %q, want human to builder", m.From, m.To)
			}
		}
	}
	if !found {
		t.Fatalf("ipcmesh check --as builder does not show the message typed on the page:\n%s", out)
	}

	// One more exchange for the screenshot, with a type badge.
	f.ipcmesh(t, "send", "--as", "builder", "--type", "done", "human", "Got it. The race detector is clean on ./gateway too.")
	p.waitFor("builder's reply", messageShown("Got it. The race detector is clean on ./gateway too."))
	p.waitFor("the done badge", `!!document.querySelector('#messages .badge.t-done')`)
	if os.Getenv("IPCMESH_SCREENSHOT") == "1" {
		p.screenshot(filepath.Join("..", "docs", "web-page.png"))
		t.Log("wrote docs/web-page.png")
	} else {
		p.screenshot(filepath.Join(t.TempDir(), "desktop.png"))
	}

	// Message content is text, never markup.
	const markup = `<img src=x onerror="window.__pwned=1"><b>not bold</b>`
	f.ipcmesh(t, "send", "--as", "builder", "human", markup)
	p.waitFor("the message with markup, as text", messageShown(markup))
	if eval[bool](p, `!!document.querySelector('#messages img, #messages .body b') || !!window.__pwned`) {
		t.Error("message content was rendered as HTML")
	}

	// Mail in another conversation shows as unread there and in the inbox.
	if _, err := reviewer.SendMessage(ctx, ipc.SendRequest{Outgoing: ipc.Outgoing{To: "human", Content: "Please look at PR 42", Type: "request"}}); err != nil {
		t.Fatal(err)
	}
	p.waitFor("an unread badge on reviewer", `(document.querySelector('#instances [data-name="reviewer"] .count') || {}).textContent === '1'`)
	p.do(chromedp.Click(chromedp.ID("inbox-link")))
	p.waitFor("the inbox with reviewer's message", messageShown("Please look at PR 42"))
	p.clickRedrawn(`#messages .msg[data-from="reviewer"] [data-ack]`)
	p.waitFor("the inbox emptied by mark read", `!document.querySelector('#messages .msg') && !document.getElementById('empty').hidden`)

	// A narrow window: the sidebar folds away behind a toggle and the
	// compose box fits.
	const (
		sidebarOpen   = `(() => { const s = document.getElementById('sidebar'), r = s.getBoundingClientRect(); return getComputedStyle(s).visibility === 'visible' && r.left === 0 && r.width > 0 && r.right <= innerWidth; })()`
		sidebarClosed = `(() => { const s = document.getElementById('sidebar'); return getComputedStyle(s).visibility === 'hidden' && s.getBoundingClientRect().right <= 0; })()`
	)
	p.do(chromedp.EmulateViewport(390, 760))
	p.waitFor("the sidebar folded away on the narrow page", sidebarClosed)
	p.do(chromedp.Click(chromedp.ID("menu-toggle")))
	p.waitFor("the sidebar opened by the toggle", sidebarOpen)
	if v := eval[string](p, `document.getElementById('menu-toggle').getAttribute('aria-expanded')`); v != "true" {
		t.Errorf("the open sidebar's toggle has aria-expanded=%q, want true", v)
	}
	p.clickRedrawn(`#instances [data-name="builder"]`)
	p.waitFor("the sidebar closed after picking builder", sidebarClosed)
	p.waitFor("builder's conversation on the narrow page", messageShown(fromCLI))
	narrow := filepath.Join(t.TempDir(), "narrow.png")
	p.screenshot(narrow)
	var layout struct {
		Width, ScrollWidth                       float64
		Height                                   float64
		ComposeLeft, ComposeRight, ComposeBottom float64
		ComposeWidth, SendRight, ToggleWidth     float64
	}
	raw := eval[string](p, `JSON.stringify((() => {
		const c = document.getElementById('compose').getBoundingClientRect();
		const s = document.getElementById('send').getBoundingClientRect();
		return {Width: innerWidth, ScrollWidth: document.documentElement.scrollWidth, Height: innerHeight,
			ComposeLeft: c.left, ComposeRight: c.right, ComposeBottom: c.bottom, ComposeWidth: c.width,
			SendRight: s.right, ToggleWidth: document.getElementById('menu-toggle').getBoundingClientRect().width};
	})())`)
	if err := json.Unmarshal([]byte(raw), &layout); err != nil {
		t.Fatal(err)
	}
	if layout.Width != 390 {
		t.Errorf("the narrow viewport is %v wide, want 390", layout.Width)
	}
	if layout.ScrollWidth > layout.Width {
		t.Errorf("the narrow page scrolls sideways: %v wide in a %v viewport", layout.ScrollWidth, layout.Width)
	}
	if layout.ComposeWidth <= 0 || layout.ComposeLeft < 0 || layout.ComposeRight > layout.Width || layout.SendRight > layout.Width || layout.ComposeBottom > layout.Height {
		t.Errorf("the compose box does not fit the narrow viewport: %+v", layout)
	}
	if layout.ToggleWidth <= 0 {
		t.Error("no sidebar toggle on the narrow page")
	}

	// Signing out forgets the key.
	p.do(chromedp.Click(chromedp.ID("sign-out")), chromedp.WaitVisible(chromedp.ID("key-input")))
	if eval[bool](p, `sessionStorage.getItem('ipcmesh.key') !== null`) {
		t.Error("the key is still in sessionStorage after signing out")
	}
	p.noProblems()
}
