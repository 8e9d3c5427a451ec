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

// A broker whose own secret has whitespace at an end is never told of the
// peers it keeps out (they hang up when it cannot prove their secret): it
// says so itself as it starts.
func TestBrokerWithWhitespaceInItsSecretSaysSo(t *testing.T) {
	t.Parallel()
	m := newMesh(t, "IPC_SHARED_SECRET=correct horse battery staple\n")
	b := m.startBroker()
	b.interrupt()
	b.wait(runTimeout)
	if msg := b.stderr.String(); !strings.Contains(msg, `this broker's IPC_SHARED_SECRET ends with \"\\n\"`) || !strings.Contains(msg, "remove it if it is not meant") {
		t.Errorf("the broker's stderr does not say its secret ends with a newline: %q", msg)
	}
	clean := newMesh(t, "IPC_SHARED_SECRET=correct horse battery staple")
	b = clean.startBroker()
	b.interrupt()
	b.wait(runTimeout)
	if msg := b.stderr.String(); strings.Contains(msg, "whitespace") {
		t.Errorf("a broker with a secret without whitespace speaks of it: %q", msg)
	}
}
