package tools_test

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ipcmesh/ipcmesh/internal/mcptest"
	"github.com/ipcmesh/ipcmesh/ipc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// "Wait for carol's reply": check with from and wait_seconds returns carol's
// next message, under her new name too, and leaves the rest unread.
func TestCheckFromWaitsForOneSender(t *testing.T) {
	m := newMesh(t)
	team := m.team("alice", "bob", "carol")
	alice, bob, carol := team[0], team[1], team[2]

	done := make(chan mcptest.CallResult, 1)
	go func() {
		params := &mcp.CallToolParams{Name: "check", Arguments: map[string]any{"wait_seconds": 300, "from": "carol"}}
		params.SetProgressToken("wait-carol")
		res, err := bob.cs.CallTool(context.WithoutCancel(t.Context()), params)
		done <- mcptest.CallResult{Res: res, Err: err}
	}()
	<-bob.progress // the check is under way
	alice.send("bob", "not the one you wait for")
	carol.ok("rename", map[string]any{"new_name": "carol2"})
	carol.send("bob", "reviewed: ship it")
	r := mcptest.Await(t, done, "the check from carol to return")
	if r.Err != nil || r.Res.IsError {
		t.Fatalf("check from carol: %v %s", r.Err, mcptest.ResultText(r.Res))
	}
	got := mcptest.ResultText(r.Res)
	mcptest.Contains(t, "check from carol", got, "1 new message for bob", "From carol2", "ship it", "1 more unread, from others too")
	mcptest.NotContains(t, "check from carol", got, "not the one")
	mcptest.Contains(t, "plain check", bob.ok("check", nil), "From alice", "not the one")
	mcptest.Contains(t, "nothing more from carol", bob.ok("check", map[string]any{"from": "carol2"}), "No new messages from carol2 for bob.")
}

// A check from one instance that finds nothing from it says how much mail
// from others waits, which from leaves unread: a model waiting for one
// sender would not learn of it otherwise.
func TestCheckFromSaysWhatElseWaits(t *testing.T) {
	m := newMesh(t)
	team := m.team("alice", "bob", "carol")
	alice, bob := team[0], team[1]
	alice.send("bob", "one")
	alice.send("bob", "two")
	mcptest.Contains(t, "check from carol", bob.ok("check", map[string]any{"from": "carol"}),
		"No new messages from carol for bob. 2 unread messages from others: check without from reads them.")
	mcptest.Contains(t, "check", bob.ok("check", nil), "one", "two")
	mcptest.NotContains(t, "check from carol with nothing else unread", bob.ok("check", map[string]any{"from": "carol"}), "from others")
}

// "What did I discuss with alice yesterday?": history takes since and until.
func TestHistorySinceUntil(t *testing.T) {
	m := newMesh(t)
	team := m.team("alice", "bob")
	alice, bob := team[0], team[1]
	alice.send("bob", "the plan for today")
	bob.send("alice", "agreed")

	got := bob.ok("history", map[string]any{"with": "alice", "since": "1h"})
	mcptest.Contains(t, "the last hour", got, "2 messages in the conversation of bob with alice since ", "the plan", "agreed")
	mcptest.Contains(t, "yesterday", bob.ok("history", map[string]any{"with": "alice", "since": "48h", "until": "24h"}),
		"No messages in the conversation of bob with alice since ", " until ")
	mcptest.Contains(t, "a bad until", bob.fails("history", map[string]any{"with": "alice", "until": "tuesday"}),
		`until: "tuesday" is neither a duration (24h, 7d) nor a date`)
	mcptest.Contains(t, "a window backwards", bob.fails("history", map[string]any{"with": "alice", "since": "1h", "until": "2h"}),
		"until (2h) is before since (1h): swap them")
}

// search has until, and from finds what a renamed instance sent before.
func TestSearchUntilAndEarlierNames(t *testing.T) {
	m := newMesh(t)
	team := m.team("alice", "bob")
	alice, bob := team[0], team[1]
	alice.send("bob", "zebra report")
	alice.ok("rename", map[string]any{"new_name": "alicia"})

	mcptest.Contains(t, "from the new name", bob.ok("search", map[string]any{"query": "zebra", "from": "alicia"}), "1 message", "From alice to bob", "zebra report")
	mcptest.Contains(t, "until an hour ago", bob.ok("search", map[string]any{"query": "zebra", "until": "1h"}), "No message")
	mcptest.Contains(t, "until later", bob.ok("search", map[string]any{"query": "zebra", "until": "2100-01-01"}), "1 message")
	mcptest.Contains(t, "bad until", bob.fails("search", map[string]any{"query": "zebra", "until": "soon"}), "until:")
}

// A name mistyped in a filter (check from, history with, search from)
// finds nothing: the answer says that no instance has that name and which
// one was likely meant, rather than read as a quiet inbox.
func TestMistypedFilterNameIsNamed(t *testing.T) {
	cfg := mcptest.MeshConfig(t)
	c := serveStdio(t, cfg)
	mcptest.JoinAs(t, cfg, "reviewer")
	c.OK("register", map[string]any{"name": "alice"})
	const hint = "No instance is registered as reviewr now: did you mean reviewer?"
	mcptest.Contains(t, "check from reviewr", c.OK("check", map[string]any{"from": "reviewr"}), "No new messages from reviewr", hint)
	mcptest.Contains(t, "history with reviewr", c.OK("history", map[string]any{"with": "reviewr"}), "No messages in the conversation", hint)
	mcptest.Contains(t, "search from reviewr", c.OK("search", map[string]any{"query": "auth", "from": "reviewr"}), "No message you may read", hint)
	// A registered name with nothing to show gets no such hint.
	mcptest.NotContains(t, "check from reviewer", c.OK("check", map[string]any{"from": "reviewer"}), "No instance")
	mcptest.NotContains(t, "history with reviewer", c.OK("history", map[string]any{"with": "reviewer"}), "No instance")
}

// A check shows mail up to a bound on its text, and leaves the rest
// unread for the next: twenty messages of 9 KiB come over several checks,
// each once, none marked read before it was shown.
func TestCheckBoundsItsText(t *testing.T) {
	cfg := mcptest.MeshConfig(t)
	c := serveStdio(t, cfg)
	bob := mcptest.JoinAs(t, cfg, "bob")
	c.OK("register", map[string]any{"name": "alice"})
	const n = 20
	for i := range n {
		body := fmt.Sprintf("message %02d: %s", i, strings.Repeat("x", 9<<10))
		if _, err := bob.Send(t.Context(), "alice", body); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[int]int{}
	for checks := 1; len(seen) < n; checks++ {
		if checks > n {
			t.Fatalf("still checking after %d checks; seen %v", checks, seen)
		}
		got := c.OK("check", nil)
		if len(got) > 80<<10 {
			t.Fatalf("check %d is %d bytes of text, want a bound of about 64 KiB", checks, len(got))
		}
		for _, m := range regexp.MustCompile(`> message (\d\d):`).FindAllStringSubmatch(got, -1) {
			i, _ := strconv.Atoi(m[1])
			seen[i]++
		}
		if len(seen) < n {
			mcptest.Contains(t, fmt.Sprintf("check %d", checks), got, fmt.Sprintf("%d more unread: call check again", n-len(seen)))
		}
	}
	for i := range n {
		if seen[i] != 1 {
			t.Errorf("message %02d shown %d times, want once", i, seen[i])
		}
	}
	mcptest.Contains(t, "the last check", c.OK("check", nil), "No new messages for alice")
}

// A wait for replies shows them up to the same bound as check, marks read
// only the direct replies it shows, and leaves the rest for the next wait
// or check: each of twenty replies of 9 KiB is shown once.
func TestThreadWaitBoundsItsText(t *testing.T) {
	cfg := mcptest.MeshConfig(t)
	c := serveStdio(t, cfg)
	bob := mcptest.JoinAs(t, cfg, "bob")
	c.OK("register", map[string]any{"name": "alice"})
	id := sentID(t, c.OK("send", map[string]any{"to": "bob", "content": "review auth.go", "type": "request"}))
	const n = 20
	for i := range n {
		body := fmt.Sprintf("reply %02d: %s", i, strings.Repeat("x", 9<<10))
		if _, err := bob.SendMessage(t.Context(), ipc.SendRequest{Outgoing: ipc.Outgoing{To: "alice", Content: body, ReplyTo: id}}); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[int]int{}
	count := func(what, got string) {
		t.Helper()
		if len(got) > 80<<10 {
			t.Fatalf("%s is %d bytes of text, want a bound of about 64 KiB", what, len(got))
		}
		for _, m := range regexp.MustCompile(`> reply (\d\d):`).FindAllStringSubmatch(got, -1) {
			i, _ := strconv.Atoi(m[1])
			seen[i]++
		}
	}
	got := c.OK("history", map[string]any{"thread": id, "wait_seconds": 60})
	count("the wait", got)
	mcptest.Contains(t, "the wait", got, fmt.Sprintf("%d more came after these", n-len(seen)))
	for checks := 1; len(seen) < n; checks++ {
		if checks > n {
			t.Fatalf("still checking after %d checks; seen %v", checks, seen)
		}
		count(fmt.Sprintf("check %d", checks), c.OK("check", nil))
	}
	for i := range n {
		if seen[i] != 1 {
			t.Errorf("reply %02d shown %d times, want once", i, seen[i])
		}
	}
}

// A page of history holds up to the same bound of text as check, however
// many messages limit asks for, and the next page starts after the last
// one shown: paged back, twenty messages of 9 KiB are each shown once.
func TestHistoryPageBoundsItsText(t *testing.T) {
	cfg := mcptest.MeshConfig(t)
	c := serveStdio(t, cfg)
	bob := mcptest.JoinAs(t, cfg, "bob")
	c.OK("register", map[string]any{"name": "alice"})
	const n = 20
	for i := range n {
		if _, err := bob.Send(t.Context(), "alice", fmt.Sprintf("message %02d: %s", i, strings.Repeat("x", 9<<10))); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[int]int{}
	args := map[string]any{"with": "bob", "limit": 200}
	for pages := 1; ; pages++ {
		if pages > n {
			t.Fatalf("still paging after %d pages; seen %v", pages, seen)
		}
		got := c.OK("history", args)
		if len(got) > 80<<10 {
			t.Fatalf("page %d is %d bytes of text, want a bound of about 64 KiB", pages, len(got))
		}
		for _, m := range regexp.MustCompile(`> message (\d\d):`).FindAllStringSubmatch(got, -1) {
			i, _ := strconv.Atoi(m[1])
			seen[i]++
		}
		_, rest, more := strings.Cut(got, "call history again with before ")
		if !more {
			break
		}
		var before int
		if _, err := fmt.Sscanf(rest, "%d", &before); err != nil {
			t.Fatalf("page %d's next page: %v in %q", pages, err, rest)
		}
		args["before"] = before
	}
	for i := range n {
		if seen[i] != 1 {
			t.Errorf("message %02d shown %d times, want once", i, seen[i])
		}
	}
}

// Search and the inbox resource show messages up to the same bound of
// text as check, and say how many more there are.
func TestSearchAndInboxBoundTheirText(t *testing.T) {
	cfg := mcptest.MeshConfig(t)
	c := serveStdio(t, cfg)
	bob := mcptest.JoinAs(t, cfg, "bob")
	c.OK("register", map[string]any{"name": "alice"})
	for i := range 20 {
		if _, err := bob.Send(t.Context(), "alice", fmt.Sprintf("deploy note %02d: %s", i, strings.Repeat("x ", 4600))); err != nil {
			t.Fatal(err)
		}
	}
	got := c.OK("search", map[string]any{"query": "deploy"})
	if len(got) > 80<<10 {
		t.Errorf("search is %d bytes of text, want a bound of about 64 KiB", len(got))
	}
	mcptest.Contains(t, "search", got, "older matches not shown", "narrow the search")
	res, err := c.Session.ReadResource(t.Context(), &mcp.ReadResourceParams{URI: "ipc://inbox"})
	if err != nil {
		t.Fatal(err)
	}
	inbox := res.Contents[0].Text
	if len(inbox) > 80<<10 {
		t.Errorf("the inbox resource is %d bytes of text, want a bound of about 64 KiB", len(inbox))
	}
	mcptest.Contains(t, "inbox", inbox, "20 unread messages", "more not shown")
}
