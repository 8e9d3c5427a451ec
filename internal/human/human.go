// Package human writes and reads quantities the way people say them: sizes,
// how long ago, counts of things, and points in time given as "24h" or a
// date. The command line and the MCP tools both speak to people (and to
// models reading like people), so they share these words.
package human

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/ipcmesh/ipcmesh"
)

// Size is a byte count in bytes, KiB, MiB or GiB, with one decimal.
func Size(n int) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return Count(n, "byte")
}

// Ago says how long before now t was, roughly: "just now", "42s ago",
// "5m ago", "3h ago", "9d ago"; "never" for the zero time.
func Ago(t, now time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	switch {
	case d < 5*time.Second:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	}
	return fmt.Sprintf("%dd ago", int(d.Hours()/24))
}

// Count is "1 thing" or "n things".
func Count(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// Period writes a period (a retention, say) the way people say it:
// "30 days", "1 day", "2h", "1h30m", "10m", "5s".
func Period(d time.Duration) string {
	const day = 24 * time.Hour
	switch {
	case d >= day && d%day == 0:
		return Count(int(d/day), "day")
	case d >= time.Minute:
		s := strings.TrimSuffix(d.Round(time.Minute).String(), "0s") // "1h30m", "2h0m", "10m"
		if h, ok := strings.CutSuffix(s, "h0m"); ok {
			return h + "h"
		}
		return s
	default:
		return d.String()
	}
}

// MoreUnread says how much mail a check left in the inbox: "3 more
// unread", and with narrowed (the check was for one sender's mail) "3 more
// unread, from others too", since the rest need not be that sender's. The
// face adds what to do about it, in its own words.
func MoreUnread(n int, narrowed bool) string {
	if narrowed {
		return fmt.Sprintf("%d more unread, from others too", n)
	}
	return fmt.Sprintf("%d more unread", n)
}

// maxDays bounds a count of days back that AddDate is asked for: some
// 2,870 years, near enough that its arithmetic cannot wrap around
// (9223372036854775807d came out as tomorrow).
const maxDays = 1 << 20

// ParseDuration reads a duration as Go writes it (90m, 24h) or as people
// say a long one, in whole days (30d): a retention given as --since takes
// it was refused where a setting took only Go's words for it. A count of
// days past what a time.Duration holds (some 292 years) is an error.
func ParseDuration(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 0 || days > maxDurationDays {
			return 0, fmt.Errorf("%q is not a duration: want a whole number of days up to %d (30d), or one such as 24h or 90m", s, maxDurationDays)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}

// maxDurationDays is the most days a time.Duration holds.
const maxDurationDays = int(math.MaxInt64 / int64(24*time.Hour))

// ParseWhen reads a point in time as people give it: a duration back from
// now (90m, 24h, 7d) or a date (2026-01-02 in local time, or RFC 3339),
// and returns it as Bound does.
func ParseWhen(s string, now time.Time) (time.Time, error) {
	t, err := parseWhen(strings.TrimSpace(s), now)
	if err != nil {
		return time.Time{}, err
	}
	return Bound(t), nil
}

// pastDuration reports whether s is a whole number of hours, minutes or
// seconds that time.ParseDuration refused: one too large for a Duration.
func pastDuration(s string) bool {
	n := strings.TrimRight(s, "hms")
	switch s[len(n):] {
	case "h", "m", "s":
	default:
		return false
	}
	return n != "" && strings.Trim(n, "0123456789") == ""
}

// Bound returns t, a bound of a window of messages that a person or a
// client gave, as one every request can carry and that means what they
// meant: in UTC, and within the Unix epoch and the last instant of year
// 9999. No message lies outside them, so the window holds the same
// messages. Left as they were, such times failed or misled: before year 0
// (1000000d) or after 9999 JSON refuses to write them, and the request is
// never sent; year 1's first instant is the zero time, which means no
// bound at all; and Go reads RFC 3339 offsets up to +24:00, which JSON
// refuses too.
func Bound(t time.Time) time.Time {
	first, last := time.Unix(0, 0).UTC(), time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)
	switch {
	case t.Before(first):
		return first
	case t.After(last):
		return last
	}
	return t.UTC()
}

func parseWhen(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	if n, ok := strings.CutSuffix(s, "d"); ok {
		if days, err := strconv.Atoi(n); err == nil && days >= 0 {
			return now.AddDate(0, 0, -min(days, maxDays)), nil
		}
	}
	if pastDuration(s) {
		// Further back than a time.Duration reaches (some 292 years), as
		// far as days go: the epoch, as for 1000000d.
		return now.AddDate(0, 0, -maxDays), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation("2006-01-02", s, time.Local); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is neither a duration (24h, 7d) nor a date (2026-01-02 or RFC 3339)", s)
}

// ParseWindow reads a time window, since and until, each as ParseWhen reads
// it or empty for no bound. A window that ends before it begins is refused,
// and each error names the bound that is wrong as the caller calls it:
// prefix goes before "since" and "until" ("--" on the command line).
func ParseWindow(since, until, prefix string, now time.Time) (from, to time.Time, err error) {
	if since != "" {
		if from, err = ParseWhen(since, now); err != nil {
			return from, to, fmt.Errorf("%ssince: %w", prefix, err)
		}
	}
	if until != "" {
		if to, err = ParseWhen(until, now); err != nil {
			return from, to, fmt.Errorf("%suntil: %w", prefix, err)
		}
	}
	if !from.IsZero() && !to.IsZero() && to.Before(from) {
		return from, to, fmt.Errorf("%[1]suntil (%[2]s) is before %[1]ssince (%[3]s): swap them", prefix, until, since)
	}
	return from, to, nil
}

// Sender says who sent m and where, for the first line of a message:
// "alice", "alice (broadcast)", "alice (sent to your old name bob)",
// "alice in #dev", or with showTo "alice to bob" and "alice to bob2 (sent
// to its old name bob)". Without showTo the reader is the recipient; with
// it (a history, a search) the reader may be the sender, whose old name
// it was not.
func Sender(m ipcmesh.Message, showTo bool) string {
	from := m.From
	if m.Broadcast {
		from += " (broadcast)"
	}
	switch {
	case m.Channel != "":
		from += " in #" + m.Channel
	case showTo:
		from += " to " + m.To
		if m.SentTo != "" {
			from += fmt.Sprintf(" (sent to its old name %s)", m.SentTo)
		}
	case m.SentTo != "":
		from += fmt.Sprintf(" (sent to your old name %s)", m.SentTo)
	}
	return from
}
