package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
)

// WriteJSON writes the report as indented JSON.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

// WriteTable writes the report for a person: one line per figure with its
// median, min, max, target and whether the target is met, then the notes.
func WriteTable(w io.Writer, r *Report) error {
	ew := &errWriter{w: w}
	mode := fmt.Sprintf("%d repetitions", r.Reps)
	if r.Quick {
		mode += ", quick (small repetitions: not figures to quote)"
	}
	fmt.Fprintf(ew, "ipcmesh bench %s: %s, %.0f s\n", r.Version, mode, r.Seconds)
	m := r.Machine
	fmt.Fprintf(ew, "machine: %d CPUs, %s, %s/%s, kernel %s, %s; before the run %.0f%% busy, load average %.2f (%.2f after)\n",
		m.NumCPU, orNA(m.CPU), m.OS, m.Arch, orNA(m.Kernel), m.Go, 100*m.BusyBefore, m.LoadBefore, m.LoadAfter)
	fmt.Fprintf(ew, "rate limit: %s\n\n", r.RateLimit)
	tw := tabwriter.NewWriter(ew, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FIGURE\tUNIT\tMEDIAN\tMIN\tMAX\tTARGET\tMET?")
	for _, f := range r.Figures {
		med, lo, hi := formatValue(f.Median, f.Unit), formatValue(f.Min, f.Unit), formatValue(f.Max, f.Unit)
		switch {
		case f.NA:
			med, lo, hi = "n/a", "n/a", "n/a"
		case len(f.Samples) == 0:
			med, lo, hi = "error", "-", "-"
		}
		target := "-"
		if f.Target != nil {
			target = f.Target.String()
			if f.JudgedOn == "max" {
				target += " (max)"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", f.Name, f.Unit, med, lo, hi, target, metWord(f))
	}
	tw.Flush()
	var notes []string
	for _, f := range r.Figures {
		if f.Note != "" {
			notes = append(notes, fmt.Sprintf("%s: %s", f.ID, f.Note))
		}
	}
	for _, f := range r.Figures {
		if f.Error != "" {
			notes = append(notes, fmt.Sprintf("%s: ERROR: %s", f.ID, f.Error))
		}
	}
	notes = append(notes, r.Notes...)
	if r.ProfileDir != "" {
		notes = append(notes, "CPU profiles: "+r.ProfileDir+" (go tool pprof -top FILE)")
	}
	if len(notes) > 0 {
		fmt.Fprintln(ew, "\nnotes:")
		for _, n := range notes {
			fmt.Fprintf(ew, "- %s\n", n)
		}
	}
	return ew.err
}

func metWord(f Figure) string {
	switch {
	case f.NA:
		return "n/a"
	case f.Met == nil && f.Error != "":
		return "error"
	case f.Met == nil:
		return "-"
	case *f.Met:
		return "yes"
	default:
		return "NO"
	}
}

func orNA(s string) string {
	if s == "" {
		return "n/a"
	}
	return s
}

// formatValue prints v as its unit deserves: rates and counts whole, with
// thousands separators; milliseconds with three significant digits at
// least; MiB with one decimal.
func formatValue(v float64, unit string) string {
	switch unit {
	case "msgs/s", "msgs", "conns/s":
		return thousands(v)
	case "MiB":
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	a := math.Abs(v)
	switch {
	case v == math.Trunc(v) && a < 1e6:
		return thousands(v)
	case a < 10:
		return strconv.FormatFloat(v, 'f', 3, 64)
	case a < 100:
		return strconv.FormatFloat(v, 'f', 2, 64)
	default:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
}

// thousands prints v rounded to a whole number with commas: 12,345.
func thousands(v float64) string {
	s := strconv.FormatFloat(math.Round(v), 'f', 0, 64)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}
