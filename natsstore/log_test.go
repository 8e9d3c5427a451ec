package natsstore_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// logRecorder keeps every record logged through it, at every level, for a
// test to count.
type logRecorder struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (r *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *logRecorder) WithGroup(string) slog.Handler            { return r }

func (r *logRecorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, rec.Clone())
	return nil
}

// count is how many records at level have a message containing s.
func (r *logRecorder) count(level slog.Level, s string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, rec := range r.recs {
		if rec.Level == level && strings.Contains(rec.Message, s) {
			n++
		}
	}
	return n
}

// lastEpisode counts the warnings and debug records whose message holds
// failing after the last info record whose message holds working: the
// records of a failure under way, however many ended before it.
func (r *logRecorder) lastEpisode(failing, working string) (warns, notes int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rec := range r.recs {
		switch {
		case rec.Level == slog.LevelInfo && strings.Contains(rec.Message, working):
			warns, notes = 0, 0
		case rec.Level == slog.LevelWarn && strings.Contains(rec.Message, failing):
			warns++
		case rec.Level == slog.LevelDebug && strings.Contains(rec.Message, failing):
			notes++
		}
	}
	return warns, notes
}

// dumpOnFailure logs what r recorded if the test fails: a store's own
// warnings (a trim that failed, a copy not made) say why it did.
func (r *logRecorder) dumpOnFailure(t *testing.T) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, rec := range r.recs {
			var attrs []string
			rec.Attrs(func(a slog.Attr) bool {
				attrs = append(attrs, a.String())
				return true
			})
			t.Logf("%s %s %s", rec.Level, rec.Message, strings.Join(attrs, " "))
		}
	})
}
