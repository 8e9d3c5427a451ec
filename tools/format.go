package tools

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ipcmesh/ipcmesh"
)

// Results are plain text written for a model to read: short, one fact per
// line, and no JSON to decode.

// writeMessage writes one message: who, when, what, and for a large one
// the summary, where the whole text is and its id.
func writeMessage(w io.Writer, m ipcmesh.Message) {
	from := m.From
	if m.Broadcast {
		from += " (broadcast)"
	}
	if m.SentTo != "" {
		from += fmt.Sprintf(" (sent to your old name %s)", m.SentTo)
	}
	fmt.Fprintf(w, "From %s at %s:\n", from, m.Time.Local().Format("2006-01-02 15:04:05 MST"))
	fmt.Fprintln(w, strings.TrimRight(m.Content, "\n"))
	if m.Large {
		fmt.Fprintf(w, "(large message %s, %s: the text above is a summary; the whole text is in %s)\n", m.ID, humanSize(m.Size), m.Path)
	}
}

// count is "1 message" or "n messages".
func count(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func humanSize(n int) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// ago says how long ago t was, roughly, as people say it.
func ago(t, now time.Time) string {
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
