package tools_test

// These tests drive `ipcmesh mcp` as a real child process with the go-sdk
// client, as an assistant would: each child joins (or hosts) a private mesh
// on a free port with its own data folder. They synchronise on what the
// server says (results, notifications), never on sleeps.

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/mcptest"
	"github.com/ipcmesh/ipcmesh/internal/testbin"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/ipcmesh/ipcmesh/autocheck"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// binary is the ipcmesh command built for these tests.
var binary string

func TestMain(m *testing.M) { os.Exit(testbin.Main(m, &binary, raceEnabled)) }

// latest is the newest protocol version the SDK speaks; legacy is the
// newest one with the initialize handshake, which clients use today.
var (
	latest = mcp.SupportedProtocolVersions()[0]
	legacy = "2025-11-25"
)

// maxToolsList is the budget for the tools/list result: every session pays
// it in context.
const maxToolsList = 10240

var wantTools = []string{"auto_check", "broadcast", "channels", "check", "get_shared", "history", "list_instances", "register", "rename", "search", "send", "set_status", "share"}

// mesh is a private mesh: a free port and a data folder.
type mesh struct {
	t       *testing.T
	port    string
	dataDir string
	env     []string // extra IPC_* settings for every child
}

func newMesh(t *testing.T, env ...string) *mesh {
	t.Helper()
	// Below the ports the system hands out by itself: each broker elected
	// after a killed one binds this port again, which a port of the
	// system's own (from 127.0.0.1:0) may by then serve as the local end
	// of any connection, a peer's redial to it among them (freeport).
	_, port, err := net.SplitHostPort(testbin.FreeAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	testbin.StopDetachedBrokers(t, dir)
	return &mesh{t: t, port: port, dataDir: dir, env: env}
}

// assistant is one MCP client with its own `ipcmesh mcp` child.
type assistant struct {
	t     *testing.T
	label string
	cmd   *exec.Cmd
	cs    *mcp.ClientSession

	channel  chan channelNote     // notifications/claude/channel
	updated  chan string          // resources/updated URIs
	acked    chan struct{}        // subscriptions acknowledged (2026-07-28)
	progress chan json.RawMessage // progress tokens of progress notifications
	toolsLen atomic.Int64         // bytes of the last tools/list result
}

type channelNote struct {
	Content string            `json:"content"`
	Meta    map[string]string `json:"meta"`
}

type startOpts struct {
	version string   // protocol version; latest if empty
	env     []string // extra environment, e.g. IPC_NAME=carol
}

// command is ipcmesh with args on the mesh, with the extra environment.
func (m *mesh) command(env []string, args ...string) *exec.Cmd {
	cmd := exec.Command(binary, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "IPC_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "IPC_HOST=127.0.0.1", "IPC_PORT="+m.port, "IPC_DATA_DIR="+m.dataDir, "IPC_LOG=debug", testbin.BrokerIdle)
	cmd.Env = append(cmd.Env, m.env...)
	cmd.Env = append(cmd.Env, env...)
	if raceEnabled {
		cmd.Env = append(cmd.Env, "GORACE=atexit_sleep_ms=0")
	}
	return cmd
}

// start runs `ipcmesh mcp` and connects a client to it. The child is
// stopped by closing its stdin when the test ends.
func (m *mesh) start(label string, o startOpts) *assistant {
	t := m.t
	t.Helper()
	a := &assistant{
		t:        t,
		label:    label,
		channel:  make(chan channelNote, 64),
		updated:  make(chan string, 64),
		acked:    make(chan struct{}, 64),
		progress: make(chan json.RawMessage, 64),
	}
	cmd := m.command(o.env, "mcp")
	stderr := new(testbin.Buffer)
	cmd.Stderr = stderr
	t.Cleanup(func() {
		if strings.Contains(stderr.String(), "WARNING: DATA RACE") {
			t.Errorf("%s: the race detector found a data race in ipcmesh mcp", label)
		}
		if t.Failed() {
			t.Logf("stderr of %s:\n%s", label, stderr.String())
		}
	})

	client := mcp.NewClient(&mcp.Implementation{Name: "test-" + label, Version: "1"}, &mcp.ClientOptions{
		ResourceUpdatedHandler: func(_ context.Context, req *mcp.ResourceUpdatedNotificationRequest) {
			a.updated <- req.Params.URI
		},
		ProgressNotificationHandler: func(_ context.Context, req *mcp.ProgressNotificationClientRequest) {
			tok, _ := json.Marshal(req.Params.ProgressToken)
			a.progress <- tok
		},
	})
	tr := &observingTransport{inner: &mcp.CommandTransport{Command: cmd}, see: a.see}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	version := o.version
	if version == "" {
		version = latest
	}
	cs, err := client.Connect(ctx, tr, &mcp.ClientSessionOptions{ProtocolVersion: version})
	if err != nil {
		t.Fatalf("%s: connect: %v\nstderr:\n%s", label, err, stderr.String())
	}
	a.cs, a.cmd = cs, cmd
	t.Cleanup(func() { cs.Close() })
	return a
}

// see observes every raw message from the server, before the SDK does.
func (a *assistant) see(msg jsonrpc.Message) {
	switch msg := msg.(type) {
	case *jsonrpc.Request:
		switch msg.Method {
		case "notifications/claude/channel":
			var n channelNote
			if err := json.Unmarshal(msg.Params, &n); err != nil {
				a.t.Errorf("%s: bad channel notification %s: %v", a.label, msg.Params, err)
				return
			}
			a.channel <- n
		case "notifications/subscriptions/acknowledged":
			a.acked <- struct{}{}
		}
	case *jsonrpc.Response:
		var r struct {
			Tools []json.RawMessage `json:"tools"`
		}
		if json.Unmarshal(msg.Result, &r) == nil && r.Tools != nil {
			a.toolsLen.Store(int64(len(msg.Result)))
		}
	}
}

// call calls a tool and returns its text and whether it is an error result.
func (a *assistant) call(tool string, args map[string]any) (string, bool) {
	a.t.Helper()
	ctx, cancel := context.WithTimeout(a.t.Context(), time.Minute)
	defer cancel()
	res, err := a.cs.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		a.t.Fatalf("%s: %s: %v", a.label, tool, err)
	}
	return mcptest.ResultText(res), res.IsError
}

// ok calls a tool that must succeed and returns its text.
func (a *assistant) ok(tool string, args map[string]any) string {
	a.t.Helper()
	text, isErr := a.call(tool, args)
	if isErr {
		a.t.Fatalf("%s: %s(%v) failed: %s", a.label, tool, args, text)
	}
	return text
}

// fails calls a tool that must return an error result and returns its text.
func (a *assistant) fails(tool string, args map[string]any) string {
	a.t.Helper()
	text, isErr := a.call(tool, args)
	if !isErr {
		a.t.Fatalf("%s: %s(%v) succeeded, want an error result: %s", a.label, tool, args, text)
	}
	return text
}

func (a *assistant) register(name string) {
	a.t.Helper()
	a.ok("register", map[string]any{"name": name})
}

func (a *assistant) send(to, content string) string {
	a.t.Helper()
	return a.ok("send", map[string]any{"to": to, "content": content})
}

// nextChannel returns the next channel notification.
func (a *assistant) nextChannel() channelNote {
	a.t.Helper()
	return mcptest.Await(a.t, a.channel, a.label+": a channel notification")
}

func TestHandshakeEveryProtocolVersion(t *testing.T) {
	m := newMesh(t)
	for _, v := range mcp.SupportedProtocolVersions() {
		t.Run(v, func(t *testing.T) {
			m := *m
			m.t = t
			a := m.start("a", startOpts{version: v})
			ctx := t.Context()
			init := a.cs.InitializeResult()
			if init.ProtocolVersion != v {
				t.Errorf("negotiated %q, want %q", init.ProtocolVersion, v)
			}
			caps := init.Capabilities
			if _, ok := caps.Experimental["claude/channel"]; !ok {
				t.Errorf("experimental capabilities %v lack claude/channel", caps.Experimental)
			}
			if caps.Resources == nil || !caps.Resources.Subscribe {
				t.Errorf("resources capability %+v: want subscribe", caps.Resources)
			}
			if !strings.Contains(init.Instructions, "check") {
				t.Errorf("instructions %q say nothing of check", init.Instructions)
			}

			res, err := a.cs.ListTools(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, tool := range res.Tools {
				names = append(names, tool.Name)
				checkSchema(t, tool)
			}
			slices.Sort(names)
			if !slices.Equal(names, wantTools) {
				t.Errorf("tools %v, want %v", names, wantTools)
			}
			if n := a.toolsLen.Load(); n == 0 || n > maxToolsList {
				t.Errorf("tools/list result is %d bytes, want 1 to %d", n, maxToolsList)
			} else {
				t.Logf("tools/list result: %d bytes", n)
			}

			prompts, err := a.cs.ListPrompts(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(prompts.Prompts) != 1 || prompts.Prompts[0].Name != "ipcmesh-etiquette" {
				t.Errorf("prompts %v, want ipcmesh-etiquette", prompts.Prompts)
			}
			p, err := a.cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "ipcmesh-etiquette"})
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Messages) == 0 || !strings.Contains(p.Messages[0].Content.(*mcp.TextContent).Text, "wait_seconds") {
				t.Errorf("etiquette prompt %+v", p.Messages)
			}
			resources, err := a.cs.ListResources(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(resources.Resources) != 1 || resources.Resources[0].URI != "ipc://inbox" {
				t.Errorf("resources %v, want ipc://inbox", resources.Resources)
			}
		})
	}
}

// checkSchema checks that a tool's input schema is a JSON Schema for an
// object that resolves.
func checkSchema(t *testing.T, tool *mcp.Tool) {
	t.Helper()
	raw, err := json.Marshal(tool.InputSchema)
	if err != nil {
		t.Fatalf("%s: marshal input schema: %v", tool.Name, err)
	}
	var s jsonschema.Schema
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Errorf("%s: input schema %s is not a JSON Schema: %v", tool.Name, raw, err)
		return
	}
	if s.Type != "object" {
		t.Errorf("%s: input schema type %q, want object", tool.Name, s.Type)
	}
	if _, err := s.Resolve(nil); err != nil {
		t.Errorf("%s: input schema %s does not resolve: %v", tool.Name, raw, err)
	}
	for name, p := range s.Properties {
		if p.Type == "" || p.Description == "" {
			t.Errorf("%s: property %s wants one type and a description: %s", tool.Name, name, raw)
		}
	}
	if tool.Description == "" {
		t.Errorf("%s: no description", tool.Name)
	}
	t.Logf("%-14s description %3d bytes, schema %3d bytes", tool.Name, len(tool.Description), len(raw))
}

func TestToolsListUnderBudget(t *testing.T) {
	m := newMesh(t)
	for _, v := range []string{latest, legacy} {
		a := m.start("a-"+v, startOpts{version: v})
		if _, err := a.cs.ListTools(t.Context(), nil); err != nil {
			t.Fatal(err)
		}
		n := a.toolsLen.Load()
		t.Logf("protocol %s: tools/list result %d bytes (budget %d)", v, n, maxToolsList)
		if n == 0 || n > maxToolsList {
			t.Errorf("protocol %s: tools/list result is %d bytes, want 1 to %d", v, n, maxToolsList)
		}
	}
}

func TestExchange(t *testing.T) {
	m := newMesh(t, "IPC_LARGE_MESSAGE_BYTES=200")
	alice := m.start("alice", startOpts{})
	bob := m.start("bob", startOpts{version: legacy})
	alice.register("alice")
	bob.register("bob")

	mcptest.Contains(t, "send", alice.send("bob", "hello bob"), "Delivered to bob")
	got := bob.ok("check", nil)
	mcptest.Contains(t, "check", got, "1 new message for bob", "From alice", "hello bob")
	// Read means read: the second check is empty.
	mcptest.Contains(t, "second check", bob.ok("check", nil), "No new messages for bob")

	bob.send("alice", "hello alice")
	big := strings.Repeat("a long report line. ", 40)
	mcptest.Contains(t, "large send", bob.send("alice", big), "large")
	got = alice.ok("check", nil)
	mcptest.Contains(t, "check", got, "2 new messages for alice", "hello alice", "large message", "whole text is in")
	if strings.Contains(got, big) {
		t.Errorf("check shows the large message whole: %q", got)
	}

	list := alice.ok("list_instances", nil)
	mcptest.Contains(t, "list_instances", list, "alice (you): online", "bob: online")
}

func TestCheckWaitsForMail(t *testing.T) {
	m := newMesh(t)
	alice := m.start("alice", startOpts{})
	bob := m.start("bob", startOpts{})
	alice.register("alice")
	bob.register("bob")

	done := mcptest.WaitingCheck(t.Context(), bob.cs, "wait-1")
	// The first progress notification says bob's check is waiting.
	select {
	case tok := <-bob.progress:
		if string(tok) != `"wait-1"` {
			t.Fatalf("progress for token %s, want \"wait-1\"", tok)
		}
	case r := <-done:
		t.Fatalf("check returned before any mail: %v %s", r.Err, mcptest.ResultText(r.Res))
	}
	alice.send("bob", "wake up")
	r := mcptest.Await(t, done, "the waiting check to return")
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	if r.Res.IsError {
		t.Fatalf("check failed: %s", mcptest.ResultText(r.Res))
	}
	mcptest.Contains(t, "check", mcptest.ResultText(r.Res), "From alice", "wake up")
}

func TestRenameForwards(t *testing.T) {
	m := newMesh(t)
	alice := m.start("alice", startOpts{})
	bob := m.start("bob", startOpts{})
	alice.register("alice")
	bob.register("bob")
	bob.ok("auto_check", map[string]any{"interval_minutes": 3})

	mcptest.Contains(t, "rename", bob.ok("rename", map[string]any{"new_name": "robert"}), "Renamed bob to robert", "forwarded")
	mcptest.Contains(t, "send to the old name", alice.send("bob", "still there?"), "Forwarded", "robert")
	mcptest.Contains(t, "check", bob.ok("check", nil), "new message for robert", "sent to your old name bob", "still there?")
	mcptest.Contains(t, "list_instances", bob.ok("list_instances", nil), "robert (you)")
	mcptest.Contains(t, "auto_check status", bob.ok("auto_check", nil), "every 3 minutes")
	mcptest.Contains(t, "history with the old name", alice.ok("history", map[string]any{"with": "bob"}),
		"conversation of alice with robert (bob's new name)", "alice to robert (sent to its old name bob)", "still there?")
	carol := m.start("carol", startOpts{})
	carol.register("carol")
	none := carol.ok("history", map[string]any{"with": "bob"})
	mcptest.Contains(t, "empty history with the old name", none, "No messages in the conversation of carol with robert (bob's new name)")
	if strings.Contains(none, "No instance") {
		t.Errorf("an empty history with a name renamed away calls it unknown: %s", none)
	}

	// Renaming to a name renamed away ends its forward, as registering it
	// does, and the answer says so: robert no longer gets mail to bob.
	mcptest.Contains(t, "rename to a forwarded name", carol.ok("rename", map[string]any{"new_name": "bob"}),
		"Renamed carol to bob", "bob had been renamed to robert, and mail to bob was forwarded there: it now reaches you instead, no longer robert.")
	mcptest.NotContains(t, "rename back", bob.ok("rename", map[string]any{"new_name": "robbie"}), "had been renamed")
	mcptest.NotContains(t, "rename back", bob.ok("rename", map[string]any{"new_name": "robert"}), "had been renamed")
}

func TestErrorsAreErrorResults(t *testing.T) {
	m := newMesh(t)
	a := m.start("a", startOpts{})
	b := m.start("b", startOpts{version: legacy})

	for _, tc := range []struct {
		tool string
		args map[string]any
	}{
		{"send", map[string]any{"to": "bob", "content": "hi"}},
		{"check", nil},
		{"broadcast", map[string]any{"content": "hi"}},
		{"rename", map[string]any{"new_name": "x"}},
		{"auto_check", map[string]any{"interval_minutes": 5}},
		{"history", map[string]any{"with": "bob"}},
		{"channels", map[string]any{"action": "list"}},
		{"share", map[string]any{"key": "k", "content": "x"}},
		{"get_shared", nil},
		{"search", map[string]any{"query": "x"}},
		{"set_status", map[string]any{"status": "x"}},
	} {
		mcptest.Contains(t, tc.tool+" before register", a.fails(tc.tool, tc.args), "not registered", "call register")
	}
	mcptest.Contains(t, "invalid name", a.fails("register", map[string]any{"name": "bad name!"}), "bad name!", "letters, digits")
	a.fails("register", map[string]any{}) // schema: name is required

	a.register("alice")
	mcptest.Contains(t, "name taken", b.fails("register", map[string]any{"name": "alice"}), "alice", "in use", "free names: alice-2, alice-3")
	b.register("bob")
	mcptest.Contains(t, "unknown name", b.send("alise", "hi"), "Queued for alise", "Did you mean alice")
	mcptest.Contains(t, "invalid recipient", b.fails("send", map[string]any{"to": "a b", "content": "hi"}), "a b")
	mcptest.Contains(t, "empty message", b.fails("send", map[string]any{"to": "alice", "content": ""}), "empty")
	mcptest.Contains(t, "rename to a taken name", b.fails("rename", map[string]any{"new_name": "alice"}), "in use")
	mcptest.Contains(t, "negative wait", b.fails("check", map[string]any{"wait_seconds": -1}), "wait_seconds")
	got := b.fails("history", map[string]any{"with": "alice", "limit": -1})
	mcptest.Contains(t, "negative limit", got, "limit must be 0 or more, got -1")
	mcptest.NotContains(t, "negative limit", got, "wait_seconds")
	// Days back past every message are a bound like any other (the request
	// once failed to encode a time before year 0).
	mcptest.Contains(t, "since 1000000d", b.ok("search", map[string]any{"query": "hi", "since": "1000000d"}), "matching \"hi\"")
}

func TestPush(t *testing.T) {
	for _, v := range []string{latest, legacy} {
		t.Run(v, func(t *testing.T) {
			m := newMesh(t)
			alice := m.start("alice", startOpts{})
			bob := m.start("bob", startOpts{version: v})
			alice.register("alice")
			bob.register("bob")

			if err := bob.cs.Subscribe(t.Context(), &mcp.SubscribeParams{URI: "ipc://inbox"}); err != nil {
				t.Fatal(err)
			}
			if v >= "2026-07-28" {
				// The subscription is a listen stream: wait until the
				// server has taken it.
				mcptest.Await(t, bob.acked, "subscriptions/acknowledged")
			}
			alice.send("bob", "pushed hello")
			n := bob.nextChannel()
			if n.Content != "pushed hello" || n.Meta["from"] != "alice" || n.Meta["type"] != "message" || n.Meta["id"] == "" {
				t.Errorf("channel notification %+v", n)
			}
			if uri := mcptest.Await(t, bob.updated, "resources/updated"); uri != "ipc://inbox" {
				t.Errorf("resources/updated for %q", uri)
			}
			inbox, err := bob.cs.ReadResource(t.Context(), &mcp.ReadResourceParams{URI: "ipc://inbox"})
			if err != nil {
				t.Fatal(err)
			}
			mcptest.Contains(t, "inbox", inbox.Contents[0].Text, "1 unread message", "pushed hello")

			alice.ok("broadcast", map[string]any{"content": "all hands"})
			n = bob.nextChannel()
			if n.Content != "all hands" || n.Meta["type"] != "broadcast" || n.Meta["from"] != "alice" {
				t.Errorf("broadcast channel notification %+v", n)
			}
			// A push is not a read.
			mcptest.Contains(t, "check after push", bob.ok("check", nil), "2 new messages", "pushed hello", "all hands")
		})
	}
}

// IPC_NAME is registered by the first tool call that needs a name. A
// server that was only started, initialized and listed, as clients' health
// checks do (claude mcp list), registers nothing.
func TestIPCNameRegistersAtFirstUse(t *testing.T) {
	m := newMesh(t)
	carol := m.start("carol", startOpts{env: []string{"IPC_NAME=carol"}})
	if _, err := carol.cs.ListTools(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	// list_instances needs no name, and waits for the server's start.
	listed := carol.ok("list_instances", nil)
	mcptest.Contains(t, "list before any call needs a name", listed, "No instance is registered yet", "registers carol")
	if strings.Contains(listed, "- carol") {
		t.Errorf("a server that was only listed registered IPC_NAME:\n%s", listed)
	}
	mcptest.Contains(t, "check", carol.ok("check", nil), "No new messages for carol")
	alice := m.start("alice", startOpts{})
	alice.register("alice")
	mcptest.Contains(t, "send", alice.send("carol", "hi carol"), "Delivered to carol")
	mcptest.Contains(t, "list", alice.ok("list_instances", nil), "carol: online")
	mcptest.Contains(t, "bad IPC_NAME", m.start("bad", startOpts{env: []string{"IPC_NAME=no way"}}).fails("check", nil),
		"call register", `IPC_NAME="no way"`)
}

// list_instances promises that the first call that needs a name
// registers IPC_NAME only while it can: when another connected instance
// holds it, or registering it failed, the list says so, and that the
// model must call register.
func TestListSaysWhyIPCNameIsNotRegistered(t *testing.T) {
	m := newMesh(t)
	first := m.start("first", startOpts{env: []string{"IPC_NAME=carol"}})
	mcptest.Contains(t, "first check", first.ok("check", nil), "No new messages for carol")

	second := m.start("second", startOpts{env: []string{"IPC_NAME=carol"}})
	listed := second.ok("list_instances", nil)
	mcptest.Contains(t, "list of a second carol", listed, `IPC_NAME="carol" is in use by another connected instance`, "call register with another name")
	mcptest.NotContains(t, "list of a second carol", listed, "registers carol")

	bad := m.start("bad", startOpts{env: []string{"IPC_NAME=no way"}})
	bad.fails("check", nil)
	listed = bad.ok("list_instances", nil)
	mcptest.Contains(t, "list after a bad IPC_NAME failed", listed, `IPC_NAME="no way" could not be registered`, "' '", "call register with a name")
	mcptest.NotContains(t, "list after a bad IPC_NAME failed", listed, "registers no way")
}

func TestAutoCheck(t *testing.T) {
	m := newMesh(t)
	a := m.start("a", startOpts{env: []string{"IPC_NAME=dora"}})
	mcptest.Contains(t, "status", a.ok("auto_check", nil), "off")
	// No hook has run: the setting is kept, and the answer says that
	// nothing acts on it yet, and how to change that.
	unhooked := a.ok("auto_check", map[string]any{"interval_minutes": 5})
	mcptest.Contains(t, "start without hooks", unhooked, "every 5 minutes", "no ipcmesh hook has run for dora", "ipcmesh install claude --name dora", "call check")
	if strings.Contains(unhooked, "started") {
		t.Errorf("auto_check says it started with no hook to act on it: %s", unhooked)
	}
	set, err := autocheck.Load(m.dataDir, "dora")
	if err != nil || set.IntervalMinutes != 5 {
		t.Errorf("saved setting %+v, %v; want 5 minutes", set, err)
	}
	// Asked for the status, it says the setting and that nothing acts on
	// it, but not that it saved anything: it saved nothing.
	status := a.ok("auto_check", nil)
	mcptest.Contains(t, "status without hooks", status, "every 5 minutes", "no ipcmesh hook has run for dora")
	mcptest.NotContains(t, "status without hooks", status, "Saved")
	// A hook runs for dora, as a client runs it at every prompt.
	if out, err := m.command(nil, "hook", "check", "--format", "text", "--as", "dora").CombinedOutput(); err != nil {
		t.Fatalf("hook check: %v\n%s", err, out)
	}
	mcptest.Contains(t, "start with hooks", a.ok("auto_check", map[string]any{"interval_minutes": 5}), "Auto checking started for dora", "every 5 minutes")
	mcptest.Contains(t, "status", a.ok("auto_check", map[string]any{"interval_minutes": -1}), "every 5 minutes")
	mcptest.Contains(t, "stop", a.ok("auto_check", map[string]any{"interval_minutes": 0}), "stopped")
	if set, _ := autocheck.Load(m.dataDir, "dora"); set.IntervalMinutes != 0 {
		t.Errorf("after stop, setting %+v", set)
	}

	// A damaged setting file: the status says so and how to mend it, and
	// a new interval is saved over it.
	p := filepath.Join(autocheck.Dir(m.dataDir), "dora.json")
	if err := os.WriteFile(p, []byte(`{"interval_minutes": 5`), 0o600); err != nil {
		t.Fatal(err)
	}
	mcptest.Contains(t, "status of a damaged setting", a.fails("auto_check", nil), "off for dora", "damaged", "interval_minutes")
	mcptest.Contains(t, "start over a damaged setting", a.ok("auto_check", map[string]any{"interval_minutes": 7}), "Auto checking started for dora", "every 7 minutes")
	if set, err := autocheck.Load(m.dataDir, "dora"); err != nil || set.IntervalMinutes != 7 {
		t.Errorf("after starting over a damaged setting, setting %+v, %v; want 7 minutes", set, err)
	}
}

// TestFailover: the assistant that hosts the broker goes away, gracefully
// (stdin closed) or not (killed); the others go on through the next broker
// with nothing lost, and the one that left resumes its name and mail when
// it comes back.
// TestFailover loses, in turn, the assistant whose server started the
// broker (it leaves, or is killed) and the detached broker itself (kill -9):
// bob's mail flows on and waits for the host's return.
func TestFailover(t *testing.T) {
	for _, how := range []string{"host leaves", "host killed", "broker killed"} {
		t.Run(how, func(t *testing.T) {
			m := newMesh(t)
			host := m.start("host", startOpts{env: []string{"IPC_NAME=host"}})
			host.ok("check", nil) // joined: the first peer started the broker
			bob := m.start("bob", startOpts{env: []string{"IPC_NAME=bob"}})
			bob.ok("check", nil) // bob has registered
			host.send("bob", "before failover")

			switch how {
			case "host leaves":
				if err := host.cs.Close(); err != nil {
					t.Fatalf("ipcmesh mcp did not leave cleanly when stdin closed: %v", err)
				}
			case "host killed":
				if err := host.cmd.Process.Kill(); err != nil {
					t.Fatal(err)
				}
			case "broker killed":
				pid, ok := testbin.DetachedBroker(m.dataDir)
				if !ok {
					t.Fatal("the first ipcmesh mcp started no detached broker")
				}
				p, err := os.FindProcess(pid)
				if err != nil {
					t.Fatal(err)
				}
				if err := p.Kill(); err != nil {
					t.Fatal(err)
				}
			}
			bob.send("host", "after failover")
			mcptest.Contains(t, "check after failover", bob.ok("check", nil), "before failover")

			back := host // still running when only the broker was lost
			if how != "broker killed" {
				back = m.start("host again", startOpts{env: []string{"IPC_NAME=host"}})
			}
			mcptest.Contains(t, "check after restart", back.ok("check", nil), "From bob", "after failover")
		})
	}
}

// observingTransport shows every message the server sends to see before
// the client handles it: the SDK client drops notifications it does not
// know, such as notifications/claude/channel.
type observingTransport struct {
	inner mcp.Transport
	see   func(jsonrpc.Message)
}

func (t *observingTransport) Connect(ctx context.Context) (mcp.Connection, error) {
	c, err := t.inner.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &observingConn{Connection: c, see: t.see}, nil
}

type observingConn struct {
	mcp.Connection
	see func(jsonrpc.Message)
}

func (c *observingConn) Read(ctx context.Context) (jsonrpc.Message, error) {
	msg, err := c.Connection.Read(ctx)
	if err == nil {
		c.see(msg)
	}
	return msg, err
}
