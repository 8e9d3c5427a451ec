package tools_test

// Collaboration through the MCP tools, driven as an assistant drives them:
// channels, private groups, conversations, threads and waits for replies,
// shared data, search and status. Like the other tests, they synchronise on
// what the servers say (results, notifications), never on sleeps.

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ipcmesh/ipcmesh/internal/mcptest"
	"github.com/ipcmesh/ipcmesh/ipc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// team starts one registered assistant per name on the mesh m.
func (m *mesh) team(names ...string) []*assistant {
	out := make([]*assistant, len(names))
	for i, n := range names {
		out[i] = m.start(n, startOpts{})
		out[i].register(n)
	}
	return out
}

var idPattern = regexp.MustCompile(`Id ([0-9a-f]+)`)

// sentID returns the id a send result gives.
func sentID(t *testing.T, result string) string {
	t.Helper()
	m := idPattern.FindStringSubmatch(result)
	if m == nil {
		t.Fatalf("send result %q gives no id", result)
	}
	return m[1]
}

func TestChannels(t *testing.T) {
	m := newMesh(t)
	team := m.team("alice", "bob")
	alice, bob := team[0], team[1]

	mcptest.Contains(t, "create", alice.ok("channels", map[string]any{"action": "create", "name": "#Auth Dev", "description": "login and tokens"}),
		"Created #auth-dev", "public", "alice (you)", `send to "#auth-dev"`)
	mcptest.Contains(t, "create a near name", alice.ok("channels", map[string]any{"action": "create", "name": "auth-deb", "description": "a typo"}),
		"Created #auth-deb", "Warning", "auth-dev")
	alice.ok("channels", map[string]any{"action": "create", "name": "frontend", "description": "css and layout"})

	list := bob.ok("channels", map[string]any{"action": "list"})
	mcptest.Contains(t, "list", list, "3 channels", `#auth-dev: "login and tokens"`, "1 member: alice", "0 messages", "#frontend", "(you are not a member)")
	found := bob.ok("channels", map[string]any{"action": "find", "query": "tokens"})
	mcptest.Contains(t, "find", found, "1 channel matching", "#auth-dev")
	mcptest.NotContains(t, "find", found, "#frontend")
	mcptest.Contains(t, "find nothing", bob.ok("channels", map[string]any{"action": "find", "query": "kubernetes"}), "No channel matches")

	mcptest.Contains(t, "join", bob.ok("channels", map[string]any{"action": "join", "name": "auth-dev"}), "Joined #auth-dev", "alice", "bob (you)")
	mcptest.Contains(t, "list after join", bob.ok("channels", map[string]any{"action": "find", "query": "auth"}), "2 members: alice, bob (you)")
	// Joining again, or adding a member again, changes nothing, and says so.
	mcptest.Contains(t, "join again", bob.ok("channels", map[string]any{"action": "join", "name": "#Auth Dev"}), "You are in #auth-dev already: nothing changed")
	mcptest.Contains(t, "add a member again", bob.ok("channels", map[string]any{"action": "join", "name": "auth-dev", "members": []string{"alice"}}),
		"Nothing changed in #auth-dev (alice was a member already); members now: alice, bob (you).")
	mcptest.Contains(t, "leave", bob.ok("channels", map[string]any{"action": "leave", "name": "#auth-dev"}), "Left #auth-dev")
	mcptest.Contains(t, "leave again", bob.ok("channels", map[string]any{"action": "leave", "name": "#auth-dev"}), "You were not in #auth-dev: nothing changed.")
	mcptest.Contains(t, "list after leave", bob.ok("channels", map[string]any{"action": "find", "query": "tokens"}), "1 member: alice", "(you are not a member)")
	mcptest.Contains(t, "join with a member in already", bob.ok("channels", map[string]any{"action": "join", "name": "auth-dev", "members": []string{"alice"}}),
		"Joined #auth-dev (alice was a member already); members now: alice, bob (you).")

	mcptest.Contains(t, "create without a name", alice.fails("channels", map[string]any{"action": "create"}), "name is required")
	mcptest.Contains(t, "create a taken name", alice.fails("channels", map[string]any{"action": "create", "name": "AUTH_DEV", "description": "other"}), "auth-dev")
	mcptest.Contains(t, "join an unknown channel", bob.fails("channels", map[string]any{"action": "join", "name": "nowhere"}), "nowhere")
	bob.fails("channels", map[string]any{"action": "explode"}) // schema: action is an enum
}

// A channel every member has left is listed as having none, without an
// empty list after the count.
func TestChannelWithoutMembersListed(t *testing.T) {
	c := serveStdio(t, mcptest.MeshConfig(t))
	c.OK("register", map[string]any{"name": "alice"})
	c.OK("channels", map[string]any{"action": "create", "name": "ops"})
	c.OK("channels", map[string]any{"action": "leave", "name": "ops"})
	list := c.OK("channels", map[string]any{"action": "list"})
	mcptest.Contains(t, "list", list, "- #ops: 0 members; 0 messages (you are not a member)")
	mcptest.NotContains(t, "list", list, "members: ;")
}

func TestPrivateChannel(t *testing.T) {
	m := newMesh(t)
	team := m.team("alice", "bob", "carol")
	alice, bob, carol := team[0], team[1], team[2]

	mcptest.Contains(t, "create", alice.ok("channels", map[string]any{"action": "create", "name": "secret", "private": true, "members": []string{"bob"}}),
		"Created #secret", "private", "alice (you), bob")
	alice.send("#secret", "the launch is on friday")

	// Bob, a member, reads and posts.
	mcptest.Contains(t, "member check", bob.ok("check", nil), "From alice in #secret", "the launch is on friday")
	mcptest.Contains(t, "member history", bob.ok("history", map[string]any{"channel": "secret"}), "the launch is on friday")
	mcptest.Contains(t, "member post", bob.send("#secret", "noted"), "Posted to #secret")

	// Carol, not a member, learns nothing of it.
	for _, tc := range []struct {
		tool string
		args map[string]any
	}{
		{"history", map[string]any{"channel": "secret"}},
		{"send", map[string]any{"to": "#secret", "content": "let me in"}},
		{"channels", map[string]any{"action": "join", "name": "secret"}},
	} {
		got := carol.fails(tc.tool, tc.args)
		mcptest.NotContains(t, "non-member "+tc.tool, got, "friday", "noted")
	}
	mcptest.NotContains(t, "non-member list", carol.ok("channels", map[string]any{"action": "list"}), "#secret")
	mcptest.Contains(t, "non-member search", carol.ok("search", map[string]any{"query": "launch"}), "No message")
	mcptest.Contains(t, "non-member check", carol.ok("check", nil), "No new messages")

	// A member adds carol; now she reads.
	mcptest.Contains(t, "add a member", bob.ok("channels", map[string]any{"action": "join", "name": "secret", "members": []string{"carol", "carol"}}), "Added carol to #secret;", "carol")
	mcptest.Contains(t, "new member history", carol.ok("history", map[string]any{"channel": "secret"}), "the launch is on friday", "noted")
	mcptest.Contains(t, "add a member again", bob.ok("channels", map[string]any{"action": "join", "name": "secret", "members": []string{"carol", "dave"}}),
		"Added dave to #secret (carol was a member already); members now: alice, bob (you), carol, dave.")
}

func TestChannelPostReachesMembersOnce(t *testing.T) {
	m := newMesh(t)
	team := m.team("alice", "bob", "carol", "dave")
	alice, bob, carol, dave := team[0], team[1], team[2], team[3]

	alice.ok("channels", map[string]any{"action": "create", "name": "dev", "description": "the build"})
	bob.ok("channels", map[string]any{"action": "join", "name": "dev"})
	carol.ok("channels", map[string]any{"action": "join", "name": "dev"})

	mcptest.Contains(t, "post", alice.ok("send", map[string]any{"to": "#dev", "content": "build is red", "type": "status"}),
		"Posted to #dev", "2 other members", "type status")
	for _, a := range []*assistant{bob, carol} {
		n := a.nextChannel()
		if n.Content != "build is red" || n.Meta["channel"] != "dev" || n.Meta["from"] != "alice" || n.Meta["type"] != "status" || n.Meta["id"] == "" {
			t.Errorf("%s: channel notification %+v", a.label, n)
		}
		got := a.ok("check", nil)
		mcptest.Contains(t, a.label+" check", got, "1 new message", "From alice in #dev", "status, id ", "build is red")
		mcptest.Contains(t, a.label+" second check", a.ok("check", nil), "No new messages")
	}
	// The poster and a non-member get nothing.
	mcptest.Contains(t, "poster check", alice.ok("check", nil), "No new messages")
	mcptest.Contains(t, "non-member check", dave.ok("check", nil), "No new messages")
	select {
	case n := <-dave.channel:
		t.Errorf("a non-member was pushed %+v", n)
	case n := <-alice.channel:
		t.Errorf("the poster was pushed %+v", n)
	default:
	}

	// A public channel takes a non-member's post, and its members get it.
	mcptest.Contains(t, "non-member post", dave.send("#dev", "can I help?"), "Posted to #dev")
	mcptest.Contains(t, "member check", alice.ok("check", nil), "From dave in #dev", "can I help?")
	n := bob.nextChannel()
	if n.Meta["channel"] != "dev" || n.Meta["from"] != "dave" || n.Meta["type"] != "message" {
		t.Errorf("bob: channel notification %+v", n)
	}
	mcptest.Contains(t, "unknown channel", alice.fails("send", map[string]any{"to": "#deb", "content": "hi"}), "deb")
}

var beforePattern = regexp.MustCompile(`before (\d+)`)

func TestHistoryNewestFirst(t *testing.T) {
	m := newMesh(t)
	team := m.team("alice", "bob", "carol")
	alice, bob, carol := team[0], team[1], team[2]
	for i := 1; i <= 5; i++ {
		from, to := alice, "bob"
		if i%2 == 0 {
			from, to = bob, "alice"
		}
		from.send(to, "note "+strconv.Itoa(i))
	}
	carol.send("alice", "not in the conversation")

	var seen []string
	before := 0
	for page := 1; ; page++ {
		args := map[string]any{"with": "bob", "limit": 2}
		if before > 0 {
			args["before"] = before
		}
		got := alice.ok("history", args)
		for _, line := range strings.Split(got, "\n") {
			if body, ok := strings.CutPrefix(line, "> "); ok && strings.HasPrefix(body, "note ") {
				seen = append(seen, body)
			}
		}
		mcptest.NotContains(t, "history", got, "not in the conversation")
		mt := beforePattern.FindStringSubmatch(got)
		if mt == nil {
			break
		}
		before, _ = strconv.Atoi(mt[1])
		if page > 5 {
			t.Fatalf("history pages on and on: %q", got)
		}
	}
	want := []string{"note 5", "note 4", "note 3", "note 2", "note 1"}
	if strings.Join(seen, "|") != strings.Join(want, "|") {
		t.Errorf("paged history %q, want %q", seen, want)
	}
	got := alice.ok("history", map[string]any{"with": "bob"})
	mcptest.Contains(t, "whole conversation", got, "5 messages", "newest first", "From alice to bob", "From bob to alice")

	alice.fails("history", nil)
	mcptest.Contains(t, "two at once", alice.fails("history", map[string]any{"with": "bob", "channel": "dev"}), "one of")
	mcptest.Contains(t, "wait without thread", alice.fails("history", map[string]any{"with": "bob", "wait_seconds": 5}), "thread")
}

// waitInThread calls history with thread and wait_seconds, in the
// background, and returns once the server has reported progress: the call
// is under way.
func waitInThread(t *testing.T, a *assistant, id, token string) <-chan *mcp.CallToolResult {
	t.Helper()
	done := make(chan *mcp.CallToolResult, 1)
	go func() {
		params := &mcp.CallToolParams{Name: "history", Arguments: map[string]any{"thread": id, "wait_seconds": 300}}
		params.SetProgressToken(token)
		res, err := a.cs.CallTool(t.Context(), params)
		if err != nil {
			t.Errorf("%s: history wait: %v", a.label, err)
			res = &mcp.CallToolResult{IsError: true}
		}
		done <- res
	}()
	for {
		select {
		case tok := <-a.progress:
			if string(tok) == strconv.Quote(token) {
				return done
			}
			// Progress of an earlier wait, sent before it ended.
		case r := <-done:
			t.Fatalf("the wait returned before any reply: %s", mcptest.ResultText(r))
		}
	}
}

func TestThreadWaitWakesAndStopsOnDone(t *testing.T) {
	m := newMesh(t)
	team := m.team("alice", "bob")
	alice, bob := team[0], team[1]

	sent := alice.ok("send", map[string]any{"to": "bob", "content": "please review auth.go", "type": "request"})
	mcptest.Contains(t, "request", sent, "type request", "history with thread")
	req := sentID(t, sent)
	mcptest.Contains(t, "bob's check", bob.ok("check", nil), "From alice", "request, id "+req, "please review auth.go")

	waiting := waitInThread(t, alice, req, "reply-1")
	reply := bob.ok("send", map[string]any{"to": "alice", "content": "looks good, one nit", "type": "response", "reply_to": req})
	mcptest.Contains(t, "reply", reply, "thread "+req)
	replyID := sentID(t, reply)
	r := mcptest.Await(t, waiting, "the wait to wake on the reply")
	if r.IsError {
		t.Fatalf("wait failed: %s", mcptest.ResultText(r))
	}
	got := mcptest.ResultText(r)
	mcptest.Contains(t, "woken wait", got, "1 new message after "+req, "From bob to alice", "response", "reply to "+req, "looks good, one nit")
	mcptest.NotContains(t, "woken wait", got, "done")
	// The wait showed the reply: check does not show it again.
	mcptest.Contains(t, "check after the wait", alice.ok("check", nil), "No new messages")

	waiting = waitInThread(t, alice, replyID, "reply-2")
	bob.ok("send", map[string]any{"to": "alice", "content": "fixed the nit, all yours", "type": "done", "reply_to": replyID})
	r = mcptest.Await(t, waiting, "the wait to stop on done")
	got = mcptest.ResultText(r)
	mcptest.Contains(t, "wait ended by done", got, "fixed the nit", "The thread is done: bob sent done")

	// The thread reads whole, oldest first, from any of its ids.
	thread := bob.ok("history", map[string]any{"thread": replyID})
	mcptest.Contains(t, "thread", thread, "3 messages", "oldest first", "The thread is done")
	i, j, k := strings.Index(thread, "please review"), strings.Index(thread, "one nit"), strings.Index(thread, "all yours")
	if !(i >= 0 && i < j && j < k) {
		t.Errorf("thread not oldest first: %q", thread)
	}
	// Waiting on a finished thread returns at once.
	mcptest.Contains(t, "wait on a done thread", alice.ok("history", map[string]any{"thread": req, "wait_seconds": 300}), "The thread is done")

	// A thread is read in pages, oldest first, each saying how to read on.
	first := bob.ok("history", map[string]any{"thread": req, "limit": 2})
	mcptest.Contains(t, "first page", first, "2 messages", "please review", "one nit", "The thread goes on: call history again with thread "+req+" and after ")
	mcptest.NotContains(t, "first page", first, "all yours")
	_, rest, _ := strings.Cut(first, " and after ")
	var after uint64
	if _, err := fmt.Sscanf(rest, "%d", &after); err != nil {
		t.Fatalf("the first page's after: %v in %q", err, first)
	}
	next := bob.ok("history", map[string]any{"thread": req, "limit": 2, "after": after})
	mcptest.Contains(t, "next page", next, "1 message", "all yours", "The thread is done")
	mcptest.NotContains(t, "next page", next, "goes on", "one nit")
	mcptest.Contains(t, "after without thread", bob.fails("history", map[string]any{"with": "alice", "after": 3}), "give thread too")
	// What a thread cannot use is refused, not dropped: the whole thread
	// would otherwise come back as the page asked for, or a wait would
	// start after another message than the one meant.
	mcptest.Contains(t, "thread with before", bob.fails("history", map[string]any{"thread": req, "before": after}), "before does not apply", "read on with after")
	mcptest.Contains(t, "wait with after", bob.fails("history", map[string]any{"thread": req, "after": after, "wait_seconds": 1}), "after does not apply", "give its id as thread")
}

func TestShare(t *testing.T) {
	m := newMesh(t)
	team := m.team("alice", "bob")
	alice, bob := team[0], team[1]

	mcptest.Contains(t, "get nothing", bob.ok("get_shared", nil), "Nothing is shared")
	report := strings.Repeat("finding: token expiry is not checked\n", 100)
	mcptest.Contains(t, "share", alice.ok("share", map[string]any{"key": "review:auth", "content": report, "description": "the auth review"}),
		`Stored "review:auth"`, "3.6 KiB")
	alice.ok("send", map[string]any{"to": "bob", "content": "the review is in", "shared": "review:auth"})
	mcptest.Contains(t, "check", bob.ok("check", nil), "the review is in", `shared data "review:auth"`)

	got := bob.ok("get_shared", map[string]any{"key": "review:auth"})
	mcptest.Contains(t, "get", got, "stored by alice", "the auth review")
	if quoted := "> " + strings.ReplaceAll(strings.TrimSuffix(report, "\n"), "\n", "\n> ") + "\n"; !strings.HasSuffix(got, quoted) {
		t.Errorf("get_shared does not end with the content, quoted: %q", got)
	}
	bob.ok("share", map[string]any{"key": "notes", "content": "short"})
	mcptest.Contains(t, "list", alice.ok("get_shared", nil), "2 keys", "review:auth: 3.6 KiB, stored by alice", "the auth review", "notes: 5 bytes, stored by bob")

	mcptest.Contains(t, "bad key", alice.fails("share", map[string]any{"key": "no spaces", "content": "x"}), "no spaces")
	mcptest.Contains(t, "unknown key", alice.fails("get_shared", map[string]any{"key": "nope"}), "nope", "list the shared keys with get_shared without a key")
}

func TestSearch(t *testing.T) {
	m := newMesh(t)
	team := m.team("alice", "bob", "carol")
	alice, bob, carol := team[0], team[1], team[2]

	alice.ok("channels", map[string]any{"action": "create", "name": "dev"})
	bob.ok("channels", map[string]any{"action": "join", "name": "dev"})
	alice.ok("channels", map[string]any{"action": "create", "name": "ops"}) // public, bob not a member
	alice.ok("channels", map[string]any{"action": "create", "name": "secret", "private": true, "members": []string{"carol"}})

	alice.send("#dev", "the zebra migration starts today")
	alice.send("#ops", "zebra servers rebooted")
	carol.send("#secret", "zebra budget is confidential")
	carol.send("alice", "zebra lunch?")
	alice.send("bob", "ping about the giraffe")

	got := bob.ok("search", map[string]any{"query": "zebra"})
	mcptest.Contains(t, "bob's search", got, "1 message matching", "From alice in #dev", "zebra migration")
	mcptest.NotContains(t, "bob's search", got, "rebooted", "confidential", "lunch")

	got = alice.ok("search", map[string]any{"query": "zebra"})
	mcptest.Contains(t, "alice's search", got, "4 messages", "migration", "rebooted", "confidential", "lunch")
	mcptest.Contains(t, "every word", alice.ok("search", map[string]any{"query": "zebra budget"}), "1 message", "confidential")
	mcptest.Contains(t, "from", alice.ok("search", map[string]any{"query": "zebra", "from": "carol"}), "2 messages", "confidential", "lunch")
	mcptest.Contains(t, "channel", alice.ok("search", map[string]any{"query": "zebra", "channel": "ops"}), "1 message", "rebooted")
	mcptest.Contains(t, "direct mail", bob.ok("search", map[string]any{"query": "giraffe", "since": "1h"}), "1 message", "From alice to bob")
	mcptest.Contains(t, "since the future", bob.ok("search", map[string]any{"query": "giraffe", "since": "2100-01-01"}), "No message")
	mcptest.Contains(t, "bad since", bob.fails("search", map[string]any{"query": "giraffe", "since": "last tuesday"}), "since")

	// More matches than a search shows: it says so, with the until that
	// reads on from the last one shown.
	for i := range 24 {
		alice.send("bob", fmt.Sprintf("okapi sighting %d", i))
	}
	got = bob.ok("search", map[string]any{"query": "okapi"})
	mcptest.Contains(t, "a search of 24 matches", got, "20 messages", "okapi sighting 23", "Older messages match too: search again with until ")
	mcptest.NotContains(t, "a search of 24 matches", got, "okapi sighting 3")
	until := got[strings.Index(got, "with until ")+len("with until "):]
	until, _, _ = strings.Cut(until, " ")
	got = bob.ok("search", map[string]any{"query": "okapi", "until": until})
	mcptest.Contains(t, "the search on", got, "5 messages", "okapi sighting 4", "okapi sighting 0")
	mcptest.NotContains(t, "the search on", got, "Older messages match")
}

// Search has no operators, so a query written in another search syntax
// ("token -login", "from:bob token") asks for other messages than the model
// meant: the answer says how each such part was taken, and which argument
// does what it meant.
func TestSearchSaysItTakesNoOperators(t *testing.T) {
	c := serveStdio(t, mcptest.MeshConfig(t))
	c.OK("register", map[string]any{"name": "alice"})
	c.OK("channels", map[string]any{"action": "create", "name": "dev"})
	c.OK("send", map[string]any{"to": "#dev", "content": "the login token expires"})
	c.OK("send", map[string]any{"to": "#dev", "content": "the refresh token is broken"})

	got := c.OK("search", map[string]any{"query": "token -login"})
	mcptest.Contains(t, "exclusion", got, "1 message matching", "login token expires", "Search takes no operators", `-login requires "login", it does not exclude it`)
	for _, tc := range []struct{ query, want string }{
		{"token OR refresh", `OR is the word "or"`},
		{"from:alice token", `for from:alice give from "alice"`},
		{"#dev token", `for #dev give channel "dev"`},
		{"tok*", `tok* finds the whole word "tok" only`},
		{`"token expires"`, "quotes make no phrase"},
	} {
		mcptest.Contains(t, tc.query, c.OK("search", map[string]any{"query": tc.query}), "Search takes no operators", tc.want)
	}
	mcptest.NotContains(t, "plain words", c.OK("search", map[string]any{"query": "token auth.go e-mail 12:30"}), "operators")

	// A query without words lists what the filters let through.
	got = c.OK("search", map[string]any{"query": "", "channel": "dev"})
	mcptest.Contains(t, "filters only", got, "2 messages matching the filters, newest first")
	mcptest.NotContains(t, "filters only", got, `matching ""`)
}

func TestSetStatus(t *testing.T) {
	m := newMesh(t)
	team := m.team("alice", "bob")
	alice, bob := team[0], team[1]

	mcptest.Contains(t, "set", alice.ok("set_status", map[string]any{"status": "reviewing auth.go", "description": "backend, repo api"}), "reviewing auth.go")
	mcptest.Contains(t, "list", bob.ok("list_instances", nil), `alice: online`, `status "reviewing auth.go", description "backend, repo api"`)
	// A status without a description keeps the description; "" clears it.
	alice.ok("set_status", map[string]any{"status": "testing auth.go"})
	mcptest.Contains(t, "list after a status alone", bob.ok("list_instances", nil), `status "testing auth.go", description "backend, repo api"`)
	mcptest.Contains(t, "clear", alice.ok("set_status", map[string]any{"status": ""}), "Cleared")
	mcptest.NotContains(t, "list after clear", bob.ok("list_instances", nil), "testing")
	mcptest.Contains(t, "list after clear", bob.ok("list_instances", nil), `description "backend, repo api"`)
	alice.ok("set_status", map[string]any{"status": "idle", "description": ""})
	mcptest.NotContains(t, "list after clearing the description", bob.ok("list_instances", nil), "backend")
	mcptest.Contains(t, "too long", alice.fails("set_status", map[string]any{"status": strings.Repeat("x", 201)}), "200")
}

// What history's and send's descriptions say of a page and of a post is
// what they do: a thread comes 200 messages to a page unless limit says
// otherwise, a conversation 20; a post's answer counts its readers.
func TestHistoryAndSendDescriptionsHold(t *testing.T) {
	cfg := mcptest.MeshConfig(t)
	c := serveStdio(t, cfg)
	bob := mcptest.JoinAs(t, cfg, "bob")
	c.OK("register", map[string]any{"name": "alice"})

	tl, err := c.Session.ListTools(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	descs := map[string]string{}
	for _, tool := range tl.Tools {
		b, _ := json.Marshal(tool.InputSchema)
		descs[tool.Name] = tool.Description + string(b)
	}
	mcptest.Contains(t, "history's description", descs["history"], "default 20, for a thread 200")
	mcptest.Contains(t, "send's description", descs["send"], "how many members a post reaches")

	first := sentID(t, c.OK("send", map[string]any{"to": "bob", "content": "request 0", "type": "request"}))
	for i := 1; i < 25; i++ {
		if _, err := bob.SendMessage(t.Context(), ipc.SendRequest{Outgoing: ipc.Outgoing{To: "alice", Content: fmt.Sprintf("reply %d", i), ReplyTo: first}}); err != nil {
			t.Fatal(err)
		}
	}
	mcptest.Contains(t, "a thread's page", c.OK("history", map[string]any{"thread": first}), "25 messages in the thread")
	mcptest.Contains(t, "a conversation's page", c.OK("history", map[string]any{"with": "bob"}), "20 messages in the conversation")

	c.OK("channels", map[string]any{"action": "create", "name": "ops", "members": []any{"bob"}})
	mcptest.Contains(t, "a post", c.OK("send", map[string]any{"to": "#ops", "content": "hi"}), "reaches its 1 other member")
}

// A member named at create or join whom no instance is registered as is
// added all the same (an instance may be added before it comes), and the
// answer says so, with the name likely meant: a typo does not read as
// the instance meant having been added.
func TestUnknownMemberIsNamed(t *testing.T) {
	cfg := mcptest.MeshConfig(t)
	c := serveStdio(t, cfg)
	mcptest.JoinAs(t, cfg, "robert")
	c.OK("register", map[string]any{"name": "alice"})

	got := c.OK("channels", map[string]any{"action": "create", "name": "dev", "private": true, "members": []any{"robrt", "robrt"}})
	mcptest.Contains(t, "create with a mistyped member", got, "members: alice (you), robrt", "No instance is registered as robrt (did you mean robert?)")
	if n := strings.Count(got, "No instance is registered as robrt"); n != 1 {
		t.Errorf("create names robrt %d times, want once:\n%s", n, got)
	}
	got = c.OK("channels", map[string]any{"action": "join", "name": "dev", "members": []any{"robert", "newcomer"}})
	mcptest.Contains(t, "join with a member yet to come", got, "Added robert, newcomer to #dev", "No instance is registered as newcomer:")
	mcptest.NotContains(t, "join with a member yet to come", got, "registered as robert")
	mcptest.NotContains(t, "create with registered members", c.OK("channels", map[string]any{"action": "create", "name": "ops", "members": []any{"robert"}}), "No instance")
}

// A wait for a reply that comes to nothing says what waits in the inbox:
// a reply sent without reply_to lands there, not in the thread, and a
// model told only "no reply yet" would wait again for what came.
func TestThreadWaitSaysWhatWaitsInTheInbox(t *testing.T) {
	m := newMesh(t)
	team := m.team("alice", "bob")
	alice, bob := team[0], team[1]

	req := sentID(t, alice.ok("send", map[string]any{"to": "bob", "content": "please review auth.go", "type": "request"}))
	nothing := alice.ok("history", map[string]any{"thread": req, "wait_seconds": 1})
	mcptest.Contains(t, "nothing waits", nothing, "No reply after "+req)
	mcptest.NotContains(t, "nothing waits", nothing, "inbox")

	bob.send("alice", "looks good")
	mcptest.Contains(t, "a reply without reply_to", alice.ok("history", map[string]any{"thread": req, "wait_seconds": 1}),
		"No reply after "+req, "1 unread message waits in your inbox: check reads it")
	bob.send("alice", "one nit though")
	mcptest.Contains(t, "two", alice.ok("history", map[string]any{"thread": req, "wait_seconds": 1}), "2 unread messages wait in your inbox: check reads them")
	mcptest.Contains(t, "check", alice.ok("check", nil), "looks good", "one nit")

	// Waiting after a reply not yet read: the unread one is in the
	// thread, the very message waited after, and is not called outside.
	reply := sentID(t, bob.ok("send", map[string]any{"to": "alice", "content": "in the thread", "reply_to": req}))
	got := alice.ok("history", map[string]any{"thread": reply, "wait_seconds": 1})
	mcptest.Contains(t, "after an unread reply", got, "1 unread message waits in your inbox")
	mcptest.NotContains(t, "after an unread reply", got, "outside")
}
