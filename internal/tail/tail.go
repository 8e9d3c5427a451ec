// Package tail keeps the end of a stream of output that is read only when
// something went wrong: a child process's stderr, an embedded server's
// log. Memory stays bounded however long the process runs.
package tail

import (
	"strings"
	"sync"
)

// Buffer is an io.Writer that keeps the last Max bytes written to it. It
// is safe for concurrent use; the zero value keeps nothing.
type Buffer struct {
	Max int

	mu  sync.Mutex
	b   []byte
	cut bool
}

// Write keeps p, dropping the oldest bytes beyond Max. It never fails.
func (t *Buffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.Max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
		t.cut = true
	}
	return len(p), nil
}

// String returns what is kept. If older output was dropped, it begins with
// a line that says so and then the first whole line kept: the line the cut
// went through has lost its start.
func (t *Buffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.cut {
		return string(t.b)
	}
	_, rest, _ := strings.Cut(string(t.b), "\n")
	return "[... earlier output cut]\n" + rest
}
