package main

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

// TestRemoteBridgeWarnsOfAnotherName: IPC_NAME, which local commands act
// as, names another name than the key of `ipcmesh mcp --remote`. The
// tools act as the key's name all the same, so the bridge says so as it
// starts, with the key to make; it said nothing, and the user's messages
// went out under a name they had not chosen.
func TestRemoteBridgeWarnsOfAnotherName(t *testing.T) {
	m := newMesh(t)
	m.startBroker()
	_, base := m.startServe("--http", "127.0.0.1:0")
	key := strings.TrimSpace(m.mustRun("key", "create", "human").stdout)
	bridge := func(name string) string {
		t.Helper()
		// No stdin: the bridge connects to the face, then finds its
		// client gone and ends.
		cmd := exec.Command(ipcmeshBin, "mcp", "--remote", base)
		cmd.Env = m.withEnv("IPC_KEY="+key, "IPC_NAME="+name).environ()
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("mcp --remote with IPC_NAME=%s: %v\n%s", name, err, stderr.String())
		}
		return stderr.String()
	}
	got := bridge("reviewer")
	for _, want := range []string{"IPC_NAME is reviewer, but the key acts as human", "ipcmesh key create reviewer", "unset IPC_NAME"} {
		if !strings.Contains(got, want) {
			t.Errorf("bridge with IPC_NAME=reviewer and a key of human: stderr %q\nwant it to say %q", got, want)
		}
	}
	if strings.Contains(got, key) {
		t.Errorf("the warning holds the key: %q", got)
	}
	if got := bridge("human"); strings.Contains(got, "IPC_NAME") {
		t.Errorf("bridge with IPC_NAME the key's name: stderr %q, want no warning", got)
	}
}
