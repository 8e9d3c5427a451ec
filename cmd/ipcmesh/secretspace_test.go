package main

import (
	"strings"
	"testing"
)

// An IPC_SHARED_SECRET with a newline or a space at an end (a value
// read from a file, or written in a config file) is another secret than
// the one without, and the handshake fails. The secret is taken as it is,
// but the error says what is likely wrong: else nothing tells the user
// why the same secret is refused.
func TestSecretWithWhitespaceIsPointedOut(t *testing.T) {
	t.Parallel()
	const secret = "correct horse battery staple"
	m := newMesh(t, "IPC_SHARED_SECRET="+secret)
	b := m.startBroker()
	defer b.interrupt()
	for _, c := range []struct {
		peer  *mesh
		value string
		says  string
	}{
		{m, secret + "\n", `ends with "\n"`},
		{m, " " + secret, `begins with " "`},
		{m.withDir(t.TempDir()), secret + " ", `ends with " "`},
	} {
		msg := c.peer.withEnv("IPC_SHARED_SECRET="+c.value).mustFail("send", "--as", "alice", "bob", "hello")
		if !strings.Contains(msg, "IPC_SHARED_SECRET "+c.says) || !strings.Contains(msg, "remove it") {
			t.Errorf("IPC_SHARED_SECRET=%q: the error does not say that it %s: %s", c.value, c.says, msg)
		}
	}
	// Without whitespace, no word of it.
	msg := m.withEnv("IPC_SHARED_SECRET=another").mustFail("send", "--as", "alice", "bob", "hello")
	if strings.Contains(msg, "whitespace") {
		t.Errorf("IPC_SHARED_SECRET=another: the error speaks of whitespace: %s", msg)
	}
}
