package tools_test

// What the answers of tools say, beyond what was asked: what a model
// needs to know of what happened (a key used before, a forward ended, a
// channel meant) and no more than it can use (twenty names, not all).

import (
	"fmt"
	"testing"

	"github.com/ipcmesh/ipcmesh/internal/mcptest"
	"github.com/ipcmesh/ipcmesh/tools"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// A send that names an idempotency key used before sends nothing new, and
// says so: a retry is answered with the message sent then, and a call
// that reused the key for another text does not read as if it went out.
func TestSendWithAUsedKeySaysNothingNewWasSent(t *testing.T) {
	cfg := mcptest.MeshConfig(t)
	c := serveStdio(t, cfg)
	bob := mcptest.JoinAs(t, cfg, "bob")
	c.OK("register", map[string]any{"name": "alice"})
	send := func(content string) string {
		t.Helper()
		params := &mcp.CallToolParams{Name: "send", Arguments: map[string]any{"to": "bob", "content": content},
			Meta: mcp.Meta{tools.IdempotencyMeta: "retry-key-0001"}}
		res, err := c.Session.CallTool(t.Context(), params)
		if err != nil || res.IsError {
			t.Fatalf("send %q: %v %s", content, err, mcptest.ResultText(res))
		}
		return mcptest.ResultText(res)
	}
	mcptest.NotContains(t, "first send", send("first"), "nothing new")
	mcptest.Contains(t, "the same key again", send("second"), "Delivered to bob", "Id retry-key-0001", "nothing new was sent")
	r, err := bob.Check(t.Context(), 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Messages) != 1 || r.Messages[0].Content != "first" {
		t.Errorf("bob's inbox: %+v, want the first message alone", r.Messages)
	}
}

// A broadcast that names an idempotency key used before stores no copy
// again and says so, naming who got it then when a recipient is new.
func TestBroadcastWithAUsedKeySaysNothingNewWasSent(t *testing.T) {
	cfg := mcptest.MeshConfig(t)
	c := serveStdio(t, cfg)
	mcptest.JoinAs(t, cfg, "bob")
	c.OK("register", map[string]any{"name": "alice"})
	broadcast := func() string {
		t.Helper()
		params := &mcp.CallToolParams{Name: "broadcast", Arguments: map[string]any{"content": "freeze at five"},
			Meta: mcp.Meta{tools.IdempotencyMeta: "retry-key-0002"}}
		res, err := c.Session.CallTool(t.Context(), params)
		if err != nil || res.IsError {
			t.Fatalf("broadcast: %v %s", err, mcptest.ResultText(res))
		}
		return mcptest.ResultText(res)
	}
	mcptest.NotContains(t, "first broadcast", broadcast(), "nothing new", "broadcast before")
	mcptest.Contains(t, "the same key again", broadcast(), "Broadcast to 1 instance: bob", "every one of them got it then, and nothing new was sent now")
	mcptest.JoinAs(t, cfg, "carol")
	mcptest.Contains(t, "the same key once carol joined", broadcast(), "bob got it then and nothing new now; only the others got it now")
}

// A broadcast on a mesh of many instances names twenty of its recipients
// and counts the rest, rather than every name that ever registered.
func TestBroadcastToManyNamesSome(t *testing.T) {
	cfg := mcptest.MeshConfig(t)
	cfg.Limits.RegisterPerSecond, cfg.Limits.RegisterBurst = 1000, 100
	c := serveStdio(t, cfg)
	// One peer registers name after name; each leaves its instance record.
	p := mcptest.JoinAs(t, cfg, "peer-00")
	for i := 1; i < 30; i++ {
		if _, err := p.Register(t.Context(), fmt.Sprintf("peer-%02d", i)); err != nil {
			t.Fatal(err)
		}
	}
	c.OK("register", map[string]any{"name": "alice"})
	got := c.OK("broadcast", map[string]any{"content": "all hands"})
	mcptest.Contains(t, "broadcast", got, "Broadcast to 30 instances: peer-00, peer-01", "peer-19, 10 more (online now: 1)")
	mcptest.NotContains(t, "broadcast", got, "peer-20", "peer-29")
}

// A send to a name nobody registered, which a channel goes by, is queued
// as any such send is, and the answer says how to post to the channel:
// the '#' was most likely left out.
func TestSendToAChannelWithoutHashSaysSo(t *testing.T) {
	cfg := mcptest.MeshConfig(t)
	c := serveStdio(t, cfg)
	mcptest.JoinAs(t, cfg, "bob")
	c.OK("register", map[string]any{"name": "alice"})
	c.OK("channels", map[string]any{"action": "create", "name": "auth-dev", "members": []any{"bob"}})
	got := c.OK("send", map[string]any{"to": "auth-dev", "content": "the token fix is in"})
	mcptest.Contains(t, "send to auth-dev", got, "Queued for auth-dev", `#auth-dev is a channel: to post there, send to "#auth-dev"`)
	mcptest.NotContains(t, "send to bobby", c.OK("send", map[string]any{"to": "bobby", "content": "hi"}), "is a channel")
}

// A send to "all" or "everyone", names nobody registered, is queued as any
// such send is, and the answer says that broadcast reaches every instance:
// the model meant one, and the message would wait for an instance of that
// name.
func TestSendToEveryoneSaysBroadcast(t *testing.T) {
	cfg := mcptest.MeshConfig(t)
	c := serveStdio(t, cfg)
	c.OK("register", map[string]any{"name": "alice"})
	for _, to := range []string{"all", "Everyone"} {
		got := c.OK("send", map[string]any{"to": to, "content": "standup in 5"})
		mcptest.Contains(t, "send to "+to, got, "Queued for "+to, "call broadcast instead", "waits for an instance named "+to)
	}
	mcptest.NotContains(t, "send to bobby", c.OK("send", map[string]any{"to": "bobby", "content": "hi"}), "broadcast")
}

// Registering a name that was renamed away takes it back and ends its
// forward; the answer says so, since mail to the name no longer reaches
// the instance it was renamed to.
func TestRegisterOfARenamedNameSaysTheForwardEnded(t *testing.T) {
	cfg := mcptest.MeshConfig(t)
	c := serveStdio(t, cfg)
	carol := mcptest.JoinAs(t, cfg, "carol")
	if _, err := carol.Rename(t.Context(), "carol2"); err != nil {
		t.Fatal(err)
	}
	got := c.OK("register", map[string]any{"name": "carol"})
	mcptest.Contains(t, "register carol", got, "Registered as carol", "carol had been renamed to carol2", "reaches you instead, no longer carol2")
	mcptest.NotContains(t, "register dave", c.OK("register", map[string]any{"name": "dave"}), "had been renamed")
}

// set_status says what became of the description too, when the call gave
// one: set, or cleared.
func TestSetStatusSaysTheDescription(t *testing.T) {
	c := serveStdio(t, mcptest.MeshConfig(t))
	c.OK("register", map[string]any{"name": "alice"})
	got := c.OK("set_status", map[string]any{"status": "", "description": "reviewer of the auth code"})
	mcptest.Contains(t, "a description alone", got, "Cleared the status of alice.", `Description: "reviewer of the auth code".`)
	mcptest.Contains(t, "a cleared description", c.OK("set_status", map[string]any{"status": "idle", "description": ""}), `Status of alice: "idle"`, "Cleared its description.")
	mcptest.NotContains(t, "a status alone", c.OK("set_status", map[string]any{"status": "busy"}), "escription")
}

// A send that points at a shared key nothing is stored under goes out, as
// the mesh allows (the value may be shared after), and the answer says
// so, with the key likely meant.
func TestSendPointingAtNoSharedValueSaysSo(t *testing.T) {
	cfg := mcptest.MeshConfig(t)
	c := serveStdio(t, cfg)
	mcptest.JoinAs(t, cfg, "bob")
	c.OK("register", map[string]any{"name": "alice"})
	c.OK("share", map[string]any{"key": "review:auth", "content": "the review"})
	got := c.OK("send", map[string]any{"to": "bob", "content": "the review is in", "shared": "review-auth"})
	mcptest.Contains(t, "send pointing at review-auth", got, "Delivered to bob", `Nothing is shared under "review-auth" yet (did you mean "review:auth"?)`)
	mcptest.NotContains(t, "send pointing at review:auth", c.OK("send", map[string]any{"to": "bob", "content": "again", "shared": "review:auth"}), "Nothing is shared")
}

// Registering a name that differs only by case from a registered one
// makes a second instance, as names are case-sensitive; the answer says
// so, since a model that registered Builder for builder would wait for
// mail that goes to the other.
func TestRegisterBesideACaseTwinSaysSo(t *testing.T) {
	cfg := mcptest.MeshConfig(t)
	c := serveStdio(t, cfg)
	mcptest.JoinAs(t, cfg, "builder")
	got := c.OK("register", map[string]any{"name": "Builder"})
	mcptest.Contains(t, "register Builder", got, "Registered as Builder", "builder is another instance, whose name differs from yours only by case: mail to builder does not reach you", "register as builder")
	mcptest.NotContains(t, "register tester", c.OK("register", map[string]any{"name": "tester"}), "differs from yours")
	// A rename beside a case twin says so too.
	mcptest.JoinAs(t, cfg, "planner")
	mcptest.Contains(t, "rename to Planner", c.OK("rename", map[string]any{"new_name": "Planner"}), "Renamed tester to Planner", "planner is another instance, whose name differs from yours only by case: mail to planner does not reach you")
	mcptest.NotContains(t, "rename to tester", c.OK("rename", map[string]any{"new_name": "tester"}), "differs from yours")
}

// A rename to the name of an instance gone offline, whose session still
// holds it, is refused saying until when it is held and how to get it
// back: register as it, which resumes it with its mail.
func TestRenameToAnOfflineNameSaysHowToGetIt(t *testing.T) {
	c := serveStdio(t, mcptest.MeshConfig(t))
	c.OK("register", map[string]any{"name": "lead"})
	c.OK("register", map[string]any{"name": "alice"}) // lead is offline now, its session kept
	got := c.Fails("rename", map[string]any{"new_name": "lead"})
	mcptest.Contains(t, "rename to lead", got, `cannot rename to "lead"`, "valid until", "nobody is connected as it", "register as it instead", "free names: lead-2")
	mcptest.Contains(t, "register as lead", c.OK("register", map[string]any{"name": "lead"}), "Resumed the session of lead")
}

// Two assistants on one data folder told to register one name at once:
// one gets it, the other is refused. They share the folder's session ids
// and tokens, and both used to act as the name, sharing its inbox.
func TestTwoAssistantsRegisteringOneNameAtOnce(t *testing.T) {
	m := newMesh(t)
	a, b := m.start("a", startOpts{}), m.start("b", startOpts{})
	for i := range 5 {
		name := fmt.Sprintf("builder%d", i)
		results := make(chan *mcp.CallToolResult, 2)
		for _, as := range []*assistant{a, b} {
			go func() {
				res, err := as.cs.CallTool(t.Context(), &mcp.CallToolParams{Name: "register", Arguments: map[string]any{"name": name}})
				if err != nil {
					t.Errorf("%s: register: %v", as.label, err)
					res = &mcp.CallToolResult{IsError: true}
				}
				results <- res
			}()
		}
		var ok, refused int
		for range 2 {
			res := <-results
			if !res.IsError {
				ok++
				continue
			}
			refused++
			mcptest.Contains(t, "the one refused", mcptest.ResultText(res), "in use by", name+"-2")
		}
		if ok != 1 || refused != 1 {
			t.Errorf("%s: %d registers succeeded and %d were refused, want one of each", name, ok, refused)
		}
	}
}
