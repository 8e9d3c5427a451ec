package human

import (
	"encoding/json"
	"testing"
	"time"
)

// FuzzParseWindow feeds ParseWindow what a person or a model may type for
// since and until, on the command line or in an MCP tool's arguments. A
// window it accepts must be one a request can carry (JSON's times run from
// year 0 to 9999), must not end before it begins, must not take a bound
// given for none (the zero time), and a bound given as time back from now
// must not lie ahead of now.
func FuzzParseWindow(f *testing.F) {
	for _, s := range [][2]string{
		{"24h", ""}, {"7d", "1d"}, {"2026-01-02", "2026-11-20T10:00:00Z"},
		{"1000000d", ""}, {"9223372036854775807d", "0d"}, {"2562047h", ""},
		{"0000-01-01T00:00:00+23:59", ""}, {"9999-12-31T23:59:59-23:59", ""},
		{" 90m ", "yesterday"}, {"-5h", ""}, {"1e3h", ""},
	} {
		f.Add(s[0], s[1])
	}
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, since, until string) {
		from, to, err := ParseWindow(since, until, "--", now)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an empty error")
			}
			return
		}
		for _, b := range []struct {
			name string
			in   string
			t    time.Time
		}{{"since", since, from}, {"until", until, to}} {
			if b.in != "" && b.t.IsZero() {
				t.Errorf("%s %q = the zero time, which means no bound", b.name, b.in)
			}
			if _, err := json.Marshal(b.t); err != nil {
				t.Errorf("%s %q = %v, which a request cannot carry: %v", b.name, b.in, b.t, err)
			}
			if _, err := time.ParseDuration(b.in); err == nil && b.t.After(now) {
				t.Errorf("%s %q = %v, after now (%v)", b.name, b.in, b.t, now)
			}
		}
		if !from.IsZero() && !to.IsZero() && to.Before(from) {
			t.Errorf("window %q to %q = %v to %v: it ends before it begins", since, until, from, to)
		}
	})
}
