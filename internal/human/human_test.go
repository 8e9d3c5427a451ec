package human

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh"
)

func TestSize(t *testing.T) {
	for n, want := range map[int]string{0: "0 bytes", 1: "1 byte", 2: "2 bytes", 1023: "1023 bytes", 40880: "39.9 KiB", 8 << 20: "8.0 MiB", 1<<30 - 1: "1024.0 MiB", 3 << 30: "3.0 GiB"} {
		if got := Size(n); got != want {
			t.Errorf("Size(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestAgo(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	for d, want := range map[time.Duration]string{time.Second: "just now", 42 * time.Second: "42s ago", 5 * time.Minute: "5m ago", 3 * time.Hour: "3h ago", 9 * 24 * time.Hour: "9d ago"} {
		if got := Ago(now.Add(-d), now); got != want {
			t.Errorf("Ago(-%v) = %q, want %q", d, got, want)
		}
	}
	if got := Ago(time.Time{}, now); got != "never" {
		t.Errorf("Ago(zero) = %q", got)
	}
}

func TestCount(t *testing.T) {
	if Count(1, "message") != "1 message" || Count(3, "message") != "3 messages" {
		t.Error(Count(1, "message"), Count(3, "message"))
	}
}

func TestParseWhen(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"24h":                  now.Add(-24 * time.Hour),
		"7d":                   now.AddDate(0, 0, -7),
		"2026-11-20T10:00:00Z": time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC),
	} {
		got, err := ParseWhen(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseWhen(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParseWhen("2026-11-20", now); err != nil {
		t.Errorf("ParseWhen(date): %v", err)
	}
	// Days past any message's time are the epoch: not a date that wrapped
	// around into the future, nor one before year 0, which a request
	// cannot carry in JSON.
	epoch := time.Unix(0, 0)
	for _, far := range []string{"30000d", "1000000d", "1048577d", "9999999999999d", "9223372036854775807d"} {
		got, err := ParseWhen(far, now)
		if err != nil || !got.Equal(epoch) {
			t.Errorf("ParseWhen(%q) = %v, %v; want the epoch, %v", far, got, err, epoch)
		}
		if _, err := json.Marshal(got); err != nil {
			t.Errorf("ParseWhen(%q) cannot be sent: %v", far, err)
		}
	}
	for _, early := range []string{"0001-01-01T00:00:00Z", "0000-01-01T00:00:00+23:59", "1900-01-01"} {
		if got, err := ParseWhen(early, now); err != nil || !got.Equal(epoch) {
			t.Errorf("ParseWhen(%q) = %v, %v; want the epoch, %v", early, got, err, epoch)
		}
	}
	for _, far := range []string{"99999999h", "9999999999m", "99999999999999999999s"} {
		if got, err := ParseWhen(far, now); err != nil || !got.Equal(epoch) {
			t.Errorf("ParseWhen(%q) = %v, %v; want the epoch, as 1000000d", far, got, err)
		}
	}
	if got, _ := ParseWhen("20000d", now); !got.Equal(now.AddDate(0, 0, -20000)) {
		t.Errorf("ParseWhen(20000d) = %v, want %v: 1971 is after the epoch", got, now.AddDate(0, 0, -20000))
	}
	for _, bad := range []string{"", "yesterday", "-5h", "7x", "h", "5hs", "1.5.5h"} {
		if _, err := ParseWhen(bad, now); err == nil {
			t.Errorf("ParseWhen(%q) succeeded", bad)
		}
	}
}

func TestParseDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"90m", 90 * time.Minute}, {"24h", 24 * time.Hour}, {"30d", 30 * 24 * time.Hour}, {"0d", 0},
		{"106751d", 106751 * 24 * time.Hour},
	} {
		if got, err := ParseDuration(tc.in); err != nil || got != tc.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"d", "1.5d", "-1d", "106752d", "30 d", "banana"} {
		if got, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) = %v; want an error", in, got)
		}
	}
}

func TestParseWindow(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	from, to, err := ParseWindow("48h", "24h", "", now)
	if err != nil || !from.Equal(now.Add(-48*time.Hour)) || !to.Equal(now.Add(-24*time.Hour)) {
		t.Errorf("ParseWindow(48h, 24h) = %v, %v, %v", from, to, err)
	}
	if from, to, err := ParseWindow("", "", "", now); err != nil || !from.IsZero() || !to.IsZero() {
		t.Errorf("an empty window = %v, %v, %v; want no bounds", from, to, err)
	}
	for _, c := range []struct{ since, until, want string }{
		{"yesterday", "", `since: "yesterday" is neither a duration`},
		{"", "5", `until: "5" is neither a duration`},
		{"24h", "48h", "until (48h) is before since (24h): swap them"},
	} {
		if _, _, err := ParseWindow(c.since, c.until, "", now); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseWindow(%q, %q) = %v, want an error with %q", c.since, c.until, err, c.want)
		}
	}
	if _, _, err := ParseWindow("24h", "48h", "--", now); err == nil || err.Error() != "--until (48h) is before --since (24h): swap them" {
		t.Errorf("with the prefix --: %v", err)
	}
}

func TestSender(t *testing.T) {
	for _, c := range []struct {
		m      ipcmesh.Message
		showTo bool
		want   string
	}{
		{ipcmesh.Message{From: "alice", To: "bob"}, false, "alice"},
		{ipcmesh.Message{From: "alice", To: "bob"}, true, "alice to bob"},
		{ipcmesh.Message{From: "alice", To: "#dev", Channel: "dev"}, true, "alice in #dev"},
		{ipcmesh.Message{From: "alice", To: "bob", Broadcast: true}, false, "alice (broadcast)"},
		{ipcmesh.Message{From: "alice", To: "bob2", SentTo: "bob"}, false, "alice (sent to your old name bob)"},
		// In a history or a search the reader may be the sender: the old
		// name is the recipient's, not the reader's.
		{ipcmesh.Message{From: "alice", To: "bob2", SentTo: "bob"}, true, "alice to bob2 (sent to its old name bob)"},
		{ipcmesh.Message{From: "alice", To: "bob2", SentTo: "bob", Broadcast: true}, true, "alice (broadcast) to bob2 (sent to its old name bob)"},
	} {
		if got := Sender(c.m, c.showTo); got != c.want {
			t.Errorf("Sender(%+v, %v) = %q, want %q", c.m, c.showTo, got, c.want)
		}
	}
}

func TestPeriod(t *testing.T) {
	for d, want := range map[time.Duration]string{
		30 * 24 * time.Hour:             "30 days",
		24 * time.Hour:                  "1 day",
		2 * time.Hour:                   "2h",
		time.Hour + 59*time.Minute + 31: "1h59m",
		90 * time.Second:                "2m",
		10 * time.Minute:                "10m",
		2*time.Hour + 10*time.Minute:    "2h10m",
		5 * time.Second:                 "5s",
	} {
		if got := Period(d); got != want {
			t.Errorf("Period(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestMoreUnread(t *testing.T) {
	if got, want := MoreUnread(3, false), "3 more unread"; got != want {
		t.Errorf("MoreUnread(3, false) = %q, want %q", got, want)
	}
	if got, want := MoreUnread(1, true), "1 more unread, from others too"; got != want {
		t.Errorf("MoreUnread(1, true) = %q, want %q", got, want)
	}
}
