package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/internal/testbin"
)

// TestRegisterRetryResumesLostSession: a register reaches the broker, but
// the process that sent it dies before it can keep the token or let the
// name go. A register of the same name retried from the same data folder
// resumes that session instead of getting name_taken for a day.
func TestRegisterRetryResumesLostSession(t *testing.T) {
	t.Parallel()
	m := newMesh(t)
	broker := m.startBroker()

	// An assistant's MCP server, connected, about to register.
	cs, cmd := m.mcpProcess(t)
	t.Cleanup(func() { cmd.Process.Kill() }) // before the session's close: it is stopped
	if text, isErr := assistantCall(t, cs, "list_instances", nil); isErr {
		t.Fatalf("list_instances: %s", text)
	}

	// The register waits in the socket of a stopped broker; the MCP server
	// is stopped in turn, so the broker's answer waits in its socket; then
	// the MCP server dies without having read it: the session is made and
	// its token is lost with the process.
	testbin.Stop(t, broker.cmd.Process.Pid, runTimeout)
	t.Cleanup(func() { broker.cmd.Process.Signal(syscall.SIGCONT) })
	go cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "register", Arguments: map[string]any{"name": "carol"}})
	// The tool lists the names first; once that call has given up on the
	// stopped broker, the register follows it into the socket, on the
	// same connection.
	var (
		conn   string
		listed int
	)
	testbin.Eventually(t, runTimeout, "the list to wait in the stopped broker's socket", func() bool {
		for c, n := range queued(t, m.port, cmd.Process.Pid) {
			if n > 0 {
				conn, listed = c, n
			}
		}
		return listed > 0
	})
	testbin.Eventually(t, runTimeout, "the register to wait in the stopped broker's socket", func() bool {
		return queued(t, m.port, cmd.Process.Pid)[conn] > listed
	})
	testbin.Stop(t, cmd.Process.Pid, runTimeout)
	if err := broker.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	testbin.Eventually(t, runTimeout, "the broker to register carol", func() bool {
		var l []ipcmesh.Instance
		m.mustJSON(&l, "list", "--json")
		for _, in := range l {
			if in.Name == "carol" {
				return true
			}
		}
		return false
	})
	cmd.Process.Kill()

	r := m.run("register", "carol")
	if r.code != 0 {
		t.Fatalf("a register retried from the folder of one that lost its token: %s", r)
	}
	m.mustRun("send", "--as", "alice", "carol", "hello carol")
	if c := m.check("--as", "carol"); len(c.Messages) != 1 || c.Messages[0].Content != "hello carol" {
		t.Errorf("carol's mail after the retry: %+v", c.Messages)
	}
}

// queued returns how many bytes each connection from process pid to the
// broker on port holds unread, by the connection's address on pid's side,
// as Linux's /proc/net/tcp says. Only pid's connections count: another
// program may dial the port while the broker is stopped (a peer of an
// earlier test whose port it was, or of another package's tests that
// picked it too), and taking its hello for the register, a CI run stopped
// the MCP server before it had sent one.
func queued(t *testing.T, port, pid int) map[string]int {
	t.Helper()
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		t.Skipf("no /proc/net/tcp to watch the broker's socket: %v", err)
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatalf("the MCP server's open files: %v", err)
	}
	sockets := map[string]bool{}
	for _, fd := range fds {
		target, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if inode, ok := strings.CutPrefix(target, "socket:["); err == nil && ok {
			sockets[strings.TrimSuffix(inode, "]")] = true
		}
	}
	broker := fmt.Sprintf("0100007F:%04X", port)
	type entry struct{ local, remote, rx, inode string }
	var entries []entry
	for _, line := range strings.Split(string(b), "\n") {
		// sl local rem st tx_queue:rx_queue tr:when retrnsmt uid timeout inode
		f := strings.Fields(line)
		if len(f) < 10 || f[3] != "01" {
			continue
		}
		_, rx, _ := strings.Cut(f[4], ":")
		entries = append(entries, entry{f[1], f[2], rx, f[9]})
	}
	mine := map[string]bool{}
	for _, e := range entries {
		if e.remote == broker && sockets[e.inode] {
			mine[e.local] = true
		}
	}
	unread := map[string]int{}
	for _, e := range entries {
		if e.local == broker && mine[e.remote] {
			n, err := strconv.ParseUint(e.rx, 16, 32)
			if err != nil {
				t.Fatalf("/proc/net/tcp: rx_queue %q: %v", e.rx, err)
			}
			unread[e.remote] = int(n)
		}
	}
	return unread
}
