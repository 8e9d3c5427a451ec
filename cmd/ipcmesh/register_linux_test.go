package main

import (
	"bufio"
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
	// stopped broker, the register follows it into the socket.
	var listed int
	testbin.Eventually(t, runTimeout, "the list to wait in the stopped broker's socket", func() bool {
		listed = queued(t, m.port)
		return listed > 0
	})
	testbin.Eventually(t, runTimeout, "the register to wait in the stopped broker's socket", func() bool { return queued(t, m.port) > listed })
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

// queued returns how many bytes the connections the broker accepted on
// port hold unread (Linux's /proc/net/tcp).
func queued(t *testing.T, port int) int {
	f, err := os.Open("/proc/net/tcp")
	if err != nil {
		t.Skipf("no /proc/net/tcp to watch the broker's socket: %v", err)
	}
	defer f.Close()
	local := fmt.Sprintf("0100007F:%04X", port)
	total := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// sl local rem st tx_queue:rx_queue ...
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 || fields[1] != local || fields[3] != "01" {
			continue
		}
		_, rx, _ := strings.Cut(fields[4], ":")
		if n, err := strconv.ParseUint(rx, 16, 32); err == nil {
			total += int(n)
		}
	}
	return total
}
