package main

// Collaboration through the command line, one process per command as a
// user runs them: channels and private groups, channel posts in check,
// conversations paged back, waiting for a reply in a thread until done,
// shared data, search and status. Waits are on what the processes print.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/ipc"
)

// collabMesh is a mesh with a dedicated broker and the names registered.
func collabMesh(t *testing.T, names ...string) *mesh {
	t.Helper()
	m := newMesh(t)
	m.startBroker()
	for _, n := range names {
		m.mustRun("register", n)
	}
	return m
}

func wantIn(t *testing.T, what, got string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("%s printed %q, want it to contain %q", what, got, w)
		}
	}
}

func wantNotIn(t *testing.T, what, got string, unwanted ...string) {
	t.Helper()
	for _, u := range unwanted {
		if strings.Contains(got, u) {
			t.Errorf("%s printed %q, want it without %q", what, got, u)
		}
	}
}

// usageFails runs a command that must be refused as called wrongly.
func (m *mesh) usageFails(args ...string) {
	m.t.Helper()
	if r := m.run(args...); r.code != 2 || !strings.Contains(r.stderr, "usage: ipcmesh "+args[0]) {
		m.t.Errorf("ipcmesh %s: want exit status 2 with the usage, got %s", strings.Join(args, " "), r)
	}
}

func channelNames(list []ipcmesh.Channel) []string {
	var out []string
	for _, c := range list {
		out = append(out, c.Name)
	}
	return out
}

func TestChannelsCLI(t *testing.T) {
	t.Parallel()
	m := collabMesh(t, "alice", "bob", "carol")

	wantIn(t, "channels create", m.mustRun("channels", "create", "Auth Dev", "--description", "login and tokens", "--as", "alice").stdout,
		"created #auth-dev (public; members: alice)")
	r := m.mustRun("channels", "create", "auth-deb", "--as", "alice")
	wantIn(t, "channels create of a near name", r.stdout, "created #auth-deb", "warning:", "auth-dev")
	var list []ipcmesh.Channel
	m.mustJSON(&list, "channels", "--json", "--as", "bob")
	if got := channelNames(list); !slices.Equal(got, []string{"auth-deb", "auth-dev"}) {
		t.Errorf("channels --json lists %v, want [auth-deb auth-dev]", got)
	}
	r = m.mustRun("channels", "find", "tokens", "--as", "bob")
	wantIn(t, "channels find", r.stdout, "#auth-dev", "login and tokens", "alice")
	wantNotIn(t, "channels find", r.stdout, "#auth-deb")

	wantIn(t, "channels join", m.mustRun("channels", "join", "#auth-dev", "--as", "bob").stdout, "#auth-dev members: alice, bob")
	m.mustRun("channels", "join", "auth-dev", "--as", "carol")
	wantIn(t, "channels leave", m.mustRun("channels", "leave", "auth-dev", "--as", "carol").stdout, "left #auth-dev")
	wantIn(t, "channels leave again", m.mustRun("channels", "leave", "auth-dev", "--as", "carol").stdout, "not in #auth-dev: nothing to leave")
	m.mustJSON(&list, "channels", "find", "auth", "dev", "--json", "--as", "bob")
	for _, c := range list {
		if c.Name == "auth-dev" && !slices.Equal(c.Members, []string{"alice", "bob"}) {
			t.Errorf("auth-dev members %v after carol left, want [alice bob]", c.Members)
		}
	}

	// A post reaches each member once, not the poster, not a non-member.
	wantIn(t, "send to a channel", m.mustRun("send", "--as", "alice", "--type", "status", "#auth-dev", "build", "is", "red").stdout,
		"posted to #auth-dev (1 other member", "status]")
	wantIn(t, "member check", m.mustRun("check", "--as", "bob").stdout, "alice in #auth-dev [status]: build is red")
	if r := m.mustRun("check", "--as", "bob"); strings.TrimSpace(r.stdout) != "No new messages for bob." {
		t.Errorf("a second check printed %q", r.stdout)
	}
	for _, who := range []string{"alice", "carol"} {
		if c := m.check("--as", who); len(c.Messages) != 0 {
			t.Errorf("%s got %d messages from a post to #auth-dev, want none: %+v", who, len(c.Messages), c.Messages)
		}
	}

	wantIn(t, "unknown channel", m.mustFail("send", "--as", "alice", "#auth-dve", "hi"), "auth-dve")
	// A channel's name without its '#' is a name never registered, and
	// the message is queued for it, as any such send is; the answer says
	// how to post to the channel. A '#channel' left unquoted is a comment
	// to the shell, which drops it and the rest of the line: a send of
	// nothing at all says so.
	wantIn(t, "send to auth-dev", m.mustRun("send", "--as", "alice", "auth-dev", "the", "fix", "is", "in").stdout,
		"queued for auth-dev", "#auth-dev is a channel: to post there, send to '#auth-dev', quoted")
	wantNotIn(t, "send to dave", m.mustRun("send", "--as", "alice", "dave", "hi").stdout, "is a channel")
	r = m.run("send", "--as", "alice")
	if r.code != 2 || !strings.Contains(r.stderr, "a '#channel' must be quoted") {
		t.Errorf("send with no recipient: want exit 2 saying a channel must be quoted, got %s", r)
	}
	m.usageFails("channels", "explode")
	m.usageFails("channels", "create")
	m.usageFails("send", "--type", "question", "--as", "alice", "bob", "hi")
}

func TestPrivateChannelCLI(t *testing.T) {
	t.Parallel()
	m := collabMesh(t, "alice", "bob", "carol")
	wantIn(t, "create a private channel", m.mustRun("channels", "create", "secret", "--private", "--members", "bob", "--as", "alice").stdout,
		"created #secret (private; members: alice, bob)")
	m.mustRun("send", "--as", "alice", "#secret", "the launch is on friday")
	wantIn(t, "member history", m.mustRun("history", "--channel", "secret", "--as", "bob").stdout, "alice in #secret: the launch is on friday")

	for _, args := range [][]string{
		{"history", "--channel", "secret", "--as", "carol"},
		{"send", "--as", "carol", "#secret", "let me in"},
		{"channels", "join", "secret", "--as", "carol"},
	} {
		wantNotIn(t, "non-member "+args[0], m.mustFail(args...), "friday")
	}
	var list []ipcmesh.Channel
	m.mustJSON(&list, "channels", "list", "--json", "--as", "carol")
	if slices.Contains(channelNames(list), "secret") {
		t.Errorf("a non-member sees the private channel in the list: %v", channelNames(list))
	}
	var found []ipcmesh.Message
	m.mustJSON(&found, "search", "launch", "--json", "--as", "carol")
	if len(found) != 0 {
		t.Errorf("a non-member found %d private posts: %+v", len(found), found)
	}

	m.mustRun("channels", "join", "secret", "--members", "carol", "--as", "bob")
	wantIn(t, "new member history", m.mustRun("history", "--channel", "secret", "--as", "carol").stdout, "the launch is on friday")
}

func TestHistoryAndThreadsCLI(t *testing.T) {
	t.Parallel()
	m := collabMesh(t, "alice", "bob", "carol")
	for i := 1; i <= 5; i++ {
		from, to := "alice", "bob"
		if i%2 == 0 {
			from, to = "bob", "alice"
		}
		m.mustRun("send", "--as", from, to, "note", string(rune('0'+i)))
	}
	m.mustRun("send", "--as", "carol", "alice", "not in the conversation")

	// Newest first, paged back with --before.
	var seen []string
	var before uint64
	for page := 0; ; page++ {
		args := []string{"history", "--with", "bob", "--limit", "2", "--json", "--as", "alice"}
		if before > 0 {
			args = append(args, "--before", strconv.FormatUint(before, 10))
		}
		var r ipc.HistoryResult
		m.mustJSON(&r, args...)
		for _, msg := range r.Messages {
			seen = append(seen, msg.Content)
		}
		if !r.More || len(r.Messages) == 0 || page > 5 {
			break
		}
		before = r.Messages[len(r.Messages)-1].Seq
	}
	if want := []string{"note 5", "note 4", "note 3", "note 2", "note 1"}; !slices.Equal(seen, want) {
		t.Errorf("paged history %q, want %q", seen, want)
	}
	r := m.mustRun("history", "--with", "bob", "--limit", "2", "--as", "alice")
	wantIn(t, "history", r.stdout, "bob to alice: note 4", "alice to bob: note 5", "(older messages: ipcmesh history --as alice --with bob --limit 2 --before ")
	m.usageFails("history", "--as", "alice")
	m.usageFails("history", "--with", "bob", "--wait", "5s", "--as", "alice")

	// A request, a waiter that wakes on the reply, then one that stops on done.
	var sent ipc.SendResult
	m.mustJSON(&sent, "send", "--json", "--as", "alice", "--type", "request", "bob", "please review auth.go")
	req := sent.Message.ID
	wantIn(t, "check of the request", m.mustRun("check", "--as", "bob").stdout, "alice [request]: please review auth.go  (id "+req+")")

	waiter := m.start(nil, "history", "--thread", req, "--wait", "10m", "--as", "alice")
	waiter.waitLine(waiter.stderr, "waiting up to 10m0s for the next message after "+req, startTimeout)
	m.mustJSON(&sent, "send", "--json", "--as", "bob", "--type", "response", "--reply-to", req, "alice", "looks good, one nit")
	reply := sent.Message.ID
	if sent.Message.Thread != req {
		t.Errorf("the reply's thread is %q, want %q", sent.Message.Thread, req)
	}
	waiter.waitLine(waiter.stdout, "looks good, one nit", runTimeout)
	if code := waiter.wait(runTimeout); code != 0 {
		t.Fatalf("the waiter exited with status %d", code)
	}
	wantIn(t, "the woken waiter", waiter.stdout.String(), "bob to alice [response, re "+req+"]: looks good, one nit")
	wantNotIn(t, "the woken waiter", waiter.stdout.String(), "done")
	for _, msg := range m.check("--as", "alice").Messages {
		if msg.ID == reply {
			t.Errorf("after the waiter showed the reply, check returned it again: %+v", msg)
		}
	}

	waiter = m.start(nil, "history", "--thread", reply, "--wait", "10m", "--as", "alice")
	waiter.waitLine(waiter.stderr, "waiting up to", startTimeout)
	m.mustRun("send", "--as", "bob", "--type", "done", "--reply-to", reply, "alice", "fixed, all yours")
	waiter.waitLine(waiter.stdout, "(the thread is done)", runTimeout)
	if code := waiter.wait(runTimeout); code != 0 {
		t.Fatalf("the waiter exited with status %d", code)
	}
	wantIn(t, "the waiter stopped by done", waiter.stdout.String(), "[done, re "+reply+"]: fixed, all yours")

	var thread ipc.HistoryResult
	m.mustJSON(&thread, "history", "--thread", req, "--json", "--as", "bob")
	var contents []string
	for _, msg := range thread.Messages {
		contents = append(contents, msg.Content)
	}
	if want := []string{"please review auth.go", "looks good, one nit", "fixed, all yours"}; !slices.Equal(contents, want) {
		t.Errorf("the thread reads %q, want %q (oldest first)", contents, want)
	}
	wantIn(t, "history of a done thread", m.mustRun("history", "--thread", req, "--as", "bob").stdout, "(the thread is done: bob sent done)")
	// A wait on a finished thread returns at once.
	wantIn(t, "wait on a done thread", m.mustRun("history", "--thread", req, "--wait", "10m", "--as", "alice").stdout, "(the thread is done)")
}

func TestShareCLI(t *testing.T) {
	t.Parallel()
	m := collabMesh(t, "alice", "bob")
	report := strings.Repeat("finding: token expiry is not checked\n", 500)
	file := filepath.Join(t.TempDir(), "review.md")
	if err := os.WriteFile(file, []byte(report), 0o600); err != nil {
		t.Fatal(err)
	}
	wantIn(t, "share", m.mustRun("share", "review:auth", file, "--description", "the auth review", "--as", "alice").stdout,
		"shared review:auth (18.1 KiB)")
	if r := m.runIn("short notes", "share", "notes", "--as", "bob"); r.code != 0 {
		t.Fatalf("share from stdin: %s", r)
	}
	if got := m.mustRun("get", "review:auth", "--as", "bob").stdout; got != report {
		t.Errorf("get printed %d bytes, want the %d stored", len(got), len(report))
	}
	if got := m.mustRun("get", "notes", "--as", "alice").stdout; got != "short notes" {
		t.Errorf("get printed %q, want %q", got, "short notes")
	}
	var list []ipcmesh.Shared
	m.mustJSON(&list, "shared", "--json", "--as", "alice")
	if len(list) != 2 {
		t.Fatalf("shared --json lists %+v, want 2 keys", list)
	}
	for _, sh := range list {
		switch sh.Key {
		case "review:auth":
			if sh.Size != len(report) || sh.StoredBy != "alice" || sh.Description != "the auth review" || sh.Content != "" {
				t.Errorf("shared entry %+v", sh)
			}
		case "notes":
			if sh.Size != len("short notes") || sh.StoredBy != "bob" {
				t.Errorf("shared entry %+v", sh)
			}
		default:
			t.Errorf("unexpected shared key %+v", sh)
		}
	}
	wantIn(t, "shared", m.mustRun("shared", "--as", "bob").stdout, "review:auth", "18.1 KiB", "alice", "the auth review")

	r := m.mustRun("send", "--as", "alice", "--shared", "review:auth", "bob", "the review is in")
	wantNotIn(t, "send --shared of a key stored", r.stderr, "warning")
	wantIn(t, "check", m.mustRun("check", "--as", "bob").stdout, "alice [shared review:auth]: the review is in")

	// A mistyped key is sent all the same (a value may be shared after
	// the message that points at it), and the sender is told.
	for _, args := range [][]string{
		{"send", "--as", "alice", "--shared", "review:auht", "bob", "the review is in"},
		{"send", "--as", "alice", "--shared", "review:auht", "bob", "the review is in", "--json"},
	} {
		r := m.mustRun(args...)
		wantIn(t, "send --shared of a key not stored", r.stderr, `nothing is shared under "review:auht"`, "did you mean review:auth?")
	}
	if r := m.runIn("one\ntwo\n", "send", "--as", "alice", "--shared", "review:auht", "--lines", "bob", "-"); r.code != 0 || strings.Count(r.stderr, "nothing is shared") != 1 {
		t.Errorf("send --lines --shared of a key not stored: want one warning, got %s", r)
	}
	wantIn(t, "unknown key", m.mustFail("get", "nope", "--as", "bob"), "nope")
	missing := filepath.Join(t.TempDir(), "reveiw.md")
	wantIn(t, "share of a file not there", m.mustFail("share", "notes", missing, "--as", "bob"),
		missing, "no such file", "'-' to read stdin", "nothing was shared")
	dir := t.TempDir()
	wantIn(t, "share of a folder", m.mustFail("share", "notes", dir, "--as", "bob"),
		dir+" is a folder", "share a file", "nothing was shared")
	if got := m.mustRun("get", "notes", "--as", "alice").stdout; got != "short notes" {
		t.Errorf("after the shares refused, get printed %q, want %q", got, "short notes")
	}
	m.usageFails("share", "no spaces", file, "--as", "alice")
}

func TestSearchAndStatusCLI(t *testing.T) {
	t.Parallel()
	m := collabMesh(t, "alice", "bob", "carol")
	m.mustRun("channels", "create", "dev", "--as", "alice")
	m.mustRun("channels", "join", "dev", "--as", "bob")
	m.mustRun("channels", "create", "ops", "--as", "alice")
	m.mustRun("channels", "create", "secret", "--private", "--members", "carol", "--as", "alice")
	m.mustRun("send", "--as", "alice", "#dev", "the zebra migration starts today")
	m.mustRun("send", "--as", "alice", "#ops", "zebra servers rebooted")
	m.mustRun("send", "--as", "carol", "#secret", "zebra budget is confidential")
	m.mustRun("send", "--as", "alice", "bob", "the giraffe report")

	var found []ipcmesh.Message
	m.mustJSON(&found, "search", "zebra", "--json", "--as", "bob")
	if len(found) != 1 || found[0].Channel != "dev" || !strings.Contains(found[0].Content, "migration") {
		t.Errorf("bob's search for zebra found %+v, want only the #dev post", found)
	}
	m.mustJSON(&found, "search", "zebra", "--json", "--as", "alice")
	if len(found) != 3 {
		t.Errorf("alice's search for zebra found %d messages, want 3: %+v", len(found), found)
	}
	m.mustJSON(&found, "search", "zebra", "budget", "--from", "carol", "--channel", "secret", "--json", "--as", "alice")
	if len(found) != 1 || found[0].From != "carol" {
		t.Errorf("a filtered search found %+v, want carol's post", found)
	}
	wantIn(t, "search", m.mustRun("search", "giraffe", "--since", "24h", "--as", "bob").stdout, "alice to bob: the giraffe report")
	wantIn(t, "search since the future", m.mustRun("search", "giraffe", "--since", "2100-01-01", "--as", "bob").stdout, "No message")
	m.usageFails("search", "giraffe", "--since", "last tuesday", "--as", "bob")
	// Search takes no operators: words that other search syntaxes take
	// for them are explained on stderr, with the flag that does their
	// work, and the list on stdout stays what a script reads.
	r := m.mustRun("search", "zebra", "from:carol", "#secret", "OR", "--as", "alice")
	wantIn(t, "search with operators", r.stderr, "search takes no operators", "for from:carol give --from carol", "for #secret give --channel secret", `OR is the word "or"`)
	wantIn(t, "search with operators", r.stdout, "No message")
	if r := m.mustRun("search", "zebra", "--as", "alice"); r.stderr != "" {
		t.Errorf("a search of plain words wrote %q on stderr, want nothing", r.stderr)
	}
	// A page that older matches follow says so on stderr, with the
	// --before that reads on; the next page holds them, none twice.
	r = m.mustRun("search", "zebra", "--limit", "2", "--as", "alice")
	if strings.Count(r.stdout, "zebra") != 2 || !strings.Contains(r.stderr, "older messages match too: add --before ") {
		t.Fatalf("a search of 2 of 3 matches printed %q, stderr %q; want 2 and the --before for the rest", r.stdout, r.stderr)
	}
	before := strings.TrimSpace(strings.TrimPrefix(r.stderr[strings.Index(r.stderr, "--before "):], "--before "))
	before, _, _ = strings.Cut(before, " ")
	r = m.mustRun("search", "zebra", "--limit", "2", "--before", before, "--as", "alice")
	if strings.Count(r.stdout, "zebra") != 1 || !strings.Contains(r.stdout, "migration") || r.stderr != "" {
		t.Errorf("the next page printed %q, stderr %q; want the oldest match alone, and nothing more to read", r.stdout, r.stderr)
	}
	// A script that reads the JSON list is told so too, on stderr.
	r = m.mustRun("search", "zebra", "--limit", "2", "--json", "--as", "alice")
	if err := json.Unmarshal([]byte(r.stdout), &found); err != nil || len(found) != 2 || !strings.Contains(r.stderr, "add --before "+before) {
		t.Errorf("a search of 2 of 3 matches as JSON printed %q (%v), stderr %q; want 2 and the --before %s for the rest", r.stdout, err, r.stderr, before)
	}

	wantIn(t, "set-status", m.mustRun("set-status", "reviewing", "auth.go", "--description", "backend", "--as", "alice").stdout, "status of alice: reviewing auth.go")
	var insts []ipcmesh.Instance
	m.mustJSON(&insts, "list", "--json")
	for _, in := range insts {
		if in.Name == "alice" && (in.Status != "reviewing auth.go" || in.Description != "backend") {
			t.Errorf("list --json shows alice as %+v", in)
		}
	}
	wantIn(t, "list", m.mustRun("list").stdout, "reviewing auth.go (backend)")
	m.mustRun("set-status", "", "--as", "alice")
	wantNotIn(t, "list after clearing", m.mustRun("list").stdout, "reviewing")
}

// fetch writes a body as it was sent, so that a file sent with `send TO -`
// comes back whole with `fetch ID > file`, large or not; a body that does
// not end its last line gets a newline, as a line printed does.
func TestFetchWritesTheBodyAsSent(t *testing.T) {
	t.Parallel()
	m := newMesh(t, "IPC_LARGE_MESSAGE_BYTES=100")
	m.mustRun("register", "bob")
	for _, tc := range []struct{ sent, want string }{
		{"one line\n", "one line\n"},
		{"a file\nof lines\n", "a file\nof lines\n"},
		{strings.Repeat("a large file, line after line\n", 20), strings.Repeat("a large file, line after line\n", 20)},
		{"no newline at the end", "no newline at the end\n"},
	} {
		var r ipc.SendResult
		sent := m.runIn(tc.sent, "send", "--as", "alice", "bob", "-", "--json")
		if sent.code != 0 {
			t.Fatalf("send -: %s", sent)
		}
		if err := json.Unmarshal([]byte(sent.stdout), &r); err != nil {
			t.Fatal(err)
		}
		if got := m.mustRun("fetch", r.Message.ID, "--as", "bob").stdout; got != tc.want {
			t.Errorf("fetch of %q wrote %q, want %q", tc.sent, got, tc.want)
		}
	}
}
