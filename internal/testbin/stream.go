package testbin

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Stream collects what a child writes to stdout or stderr, line by line,
// with the time each line arrived, and lets a test wait for lines: a test
// waits for what the binary prints, never for time to pass.
type Stream struct {
	mu      sync.Mutex
	partial []byte
	lines   []string
	times   []time.Time
	raw     bytes.Buffer
	closed  bool
	changed chan struct{} // closed and replaced whenever a line arrives
}

// NewStream returns an empty stream, to be a child's stdout or stderr.
func NewStream() *Stream { return &Stream{changed: make(chan struct{})} }

func (s *Stream) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.raw.Write(b)
	s.partial = append(s.partial, b...)
	now := time.Now()
	added := false
	for {
		i := bytes.IndexByte(s.partial, '\n')
		if i < 0 {
			break
		}
		s.lines = append(s.lines, strings.TrimSuffix(string(s.partial[:i]), "\r"))
		s.times = append(s.times, now)
		s.partial = s.partial[i+1:]
		added = true
	}
	if added {
		close(s.changed)
		s.changed = make(chan struct{})
	}
	return len(b), nil
}

// Finish marks the end of the stream, once the child has exited, keeping
// an unterminated last line.
func (s *Stream) Finish() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.partial) > 0 {
		s.lines = append(s.lines, string(s.partial))
		s.times = append(s.times, time.Now())
		s.partial = nil
	}
	s.closed = true
	close(s.changed)
	s.changed = make(chan struct{})
}

// String is everything written so far.
func (s *Stream) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.raw.String()
}

// Lines returns every complete line so far.
func (s *Stream) Lines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.lines...)
}

// TimeOf returns when line i arrived.
func (s *Stream) TimeOf(i int) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.times[i]
}

// Next waits until there are lines past the first n, the stream ends, stop
// is closed (nil never is), or the deadline passes, and returns the new
// lines and whether it ended.
func (s *Stream) Next(n int, deadline time.Time, stop <-chan struct{}) (lines []string, closed bool) {
	for {
		s.mu.Lock()
		if len(s.lines) > n || s.closed {
			lines, closed = append([]string(nil), s.lines[n:]...), s.closed
			s.mu.Unlock()
			return lines, closed
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-stop:
			return nil, false
		case <-time.After(time.Until(deadline)):
			return nil, false
		}
	}
}

// ErrEnded is WaitLine's error when the stream ended (the child exited)
// without the line.
var ErrEnded = errors.New("the stream ended")

// WaitLine waits up to timeout for a line that contains substr and
// returns it. It fails, wrapping ErrEnded, if the stream ends first.
func (s *Stream) WaitLine(substr string, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	n := 0
	for {
		lines, closed := s.Next(n, deadline, nil)
		for _, l := range lines {
			if strings.Contains(l, substr) {
				return l, nil
			}
		}
		n += len(lines)
		if closed {
			return "", fmt.Errorf("%w without a line with %q", ErrEnded, substr)
		}
		if len(lines) == 0 && time.Now().After(deadline) {
			return "", fmt.Errorf("no line with %q within %v", substr, timeout)
		}
	}
}
