package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/testbin"
)

// ipcmeshBin is the binary the bench's processes run, built once by
// TestMain without -race, as users run it.
var ipcmeshBin string

func TestMain(m *testing.M) { os.Exit(testbin.Main(m, &ipcmeshBin, false)) }

// logWriter passes progress lines to the test log.
type logWriter struct{ t *testing.T }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// allFigures lists every figure a complete report has.
var allFigures = []string{
	"a", "b", "b.lost", "b.dup", "c.p50", "c.p99", "d", "d.lost", "d.dup",
	"e.check", "e.check99", "e.history", "e.history99", "e.search", "e.search99", "e.searchc", "f", "g", "g.secret",
	"h.rate", "h", "h.after", "h.rtt", "h.rtt99", "h.join", "x.fsync", "x.rtt",
}

// checkReport checks that the report has every figure in ids, each
// measured (samples, median within min and max, a verdict when it has a
// target) and that nothing was lost or duplicated. It says nothing about
// speed: a slow machine passes.
func checkReport(t *testing.T, r *Report, ids []string) {
	t.Helper()
	if len(r.Figures) != len(ids) {
		t.Errorf("report has %d figures, want %d", len(r.Figures), len(ids))
	}
	for _, id := range ids {
		f, ok := r.Figure(id)
		if !ok {
			t.Errorf("figure %s is missing", id)
			continue
		}
		if f.Error != "" {
			t.Errorf("figure %s: %s", id, f.Error)
			continue
		}
		if f.NA {
			if !readsRSS(id) || runtime.GOOS == "linux" {
				t.Errorf("figure %s is n/a on %s", id, runtime.GOOS)
			}
			continue
		}
		want := r.Reps
		switch id {
		case "g", "g.secret":
			want = 2 * r.Reps // quick: two one-shot runs per repetition
		case "x.fsync", "x.rtt":
			want = 1
		}
		if len(f.Samples) != want {
			t.Errorf("figure %s has %d samples, want %d", id, len(f.Samples), want)
		}
		if !(f.Min <= f.Median && f.Median <= f.Max) {
			t.Errorf("figure %s: median %v is not within min %v and max %v", id, f.Median, f.Min, f.Max)
		}
		if f.Target != nil && f.Met == nil {
			t.Errorf("figure %s has a target but no verdict", id)
		}
		if f.Name == "" || f.Unit == "" {
			t.Errorf("figure %s has no name or unit: %+v", id, f)
		}
		if strings.HasSuffix(id, ".lost") || strings.HasSuffix(id, ".dup") {
			if f.Max != 0 {
				t.Errorf("figure %s (%s): %v messages, want 0 (samples %v)", id, f.Name, f.Max, f.Samples)
			}
		} else if f.Min <= 0 {
			t.Errorf("figure %s: min %v, want a positive figure", id, f.Min)
		}
	}
}

// readsRSS reports whether figure id is a memory figure, which only linux
// can measure.
func readsRSS(id string) bool {
	return id == "f" || id == "h" || id == "h.after" || id == "h.http" || id == "h.http.fds"
}

// TestQuickBench runs the whole quick bench, with this process driving
// real broker, sender, receiver and echo processes of the freshly built
// binary, and checks that the report is complete and that no acked message
// was lost or duplicated, through failovers included.
func TestQuickBench(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	r, err := Run(ctx, Options{
		Exe:      ipcmeshBin,
		Quick:    true,
		Version:  "test",
		Progress: logWriter{t},
		Getenv:   func(string) string { return "" },
	})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Quick || r.Reps != 2 {
		t.Errorf("quick report: quick %v, reps %d; want true, 2", r.Quick, r.Reps)
	}
	checkReport(t, r, allFigures)
	if r.Machine.NumCPU <= 0 || r.Machine.Go == "" {
		t.Errorf("machine not described: %+v", r.Machine)
	}
	var table bytes.Buffer
	if err := WriteTable(&table, r); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", table.String())
	for _, f := range r.Figures {
		if !strings.Contains(table.String(), f.Name) {
			t.Errorf("the table lacks %q", f.Name)
		}
	}
	if !strings.Contains(table.String(), "MET?") {
		t.Errorf("the table has no header:\n%s", table.String())
	}
}

// TestBenchCommand runs "ipcmesh bench --quick --json" as users would,
// limited to a few figures to stay quick, and reads its JSON report.
func TestBenchCommand(t *testing.T) {
	r := benchJSON(t, "--quick", "--reps", "1", "--only", "a,d")
	if r.Reps != 1 || !r.Quick {
		t.Errorf("reps %d quick %v, want 1 and true", r.Reps, r.Quick)
	}
	checkReport(t, &r, []string{"a", "d", "d.lost", "d.dup", "x.fsync", "x.rtt"})
}

// benchJSON runs "ipcmesh bench --json ARGS..." and returns its report.
func benchJSON(t *testing.T, args ...string) Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, ipcmeshBin, append([]string{"bench", "--json"}, args...)...)
	cmd.Env = testbin.CleanEnviron()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ipcmesh bench: %v\n%s", err, stderr.String())
	}
	var r Report
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("the JSON report does not parse: %v\n%s", err, stdout.String())
	}
	return r
}

func TestBenchCommandUsage(t *testing.T) {
	for _, args := range [][]string{
		{"bench", "--only", "z"},
		{"bench", "extra"},
		{"bench", "--reps", "-1"},
		{"bench", "--nonsense"},
	} {
		cmd := exec.Command(ipcmeshBin, args...)
		cmd.Env = testbin.CleanEnviron()
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 {
			t.Errorf("ipcmesh %s: %v, want exit status 2\n%s", strings.Join(args, " "), err, out)
		}
	}
	out, err := exec.Command(ipcmeshBin, "bench", "--help").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--quick") {
		t.Errorf("ipcmesh bench --help: %v\n%s", err, out)
	}
}

// A --reps or --window of 0, or below, is refused, naming the flag: it
// is no number of repetitions, nor of sends in flight, and taken for the
// flag left out it ran the whole bench with the defaults. (--only i,
// refused on its own without --store nats, keeps a run that does not
// refuse them from measuring anything.)
func TestBenchCommandRefusesNoRepsOrWindow(t *testing.T) {
	for _, args := range [][]string{
		{"--reps", "0"},
		{"--reps", "-1"},
		{"--window", "0"},
		{"--window", "-3"},
	} {
		cmd := exec.Command(ipcmeshBin, append(append([]string{"bench"}, args...), "--only", "i")...)
		cmd.Env = testbin.CleanEnviron()
		out, err := cmd.CombinedOutput()
		want := strings.Join(args, " ") + ": want 1 or more"
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), want) {
			t.Errorf("ipcmesh bench %s: %v, want exit status 2 saying %q\n%s", strings.Join(args, " "), err, want, out)
		}
	}
}

// A flag that records the bench's own process, and the variable that
// records it too, cannot both: the refusal names the variable to unset,
// before anything runs.
func TestBenchCommandRecordsOnce(t *testing.T) {
	for _, c := range []struct{ flag, env string }{{"--profile", "IPC_PROFILE_DIR"}, {"--trace", "IPC_TRACE_DIR"}} {
		dir := t.TempDir()
		cmd := exec.Command(ipcmeshBin, "bench", "--quick", c.flag, filepath.Join(dir, "flag"))
		cmd.Env = append(testbin.CleanEnviron(), c.env+"="+filepath.Join(dir, "env"))
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), "unset "+c.env) {
			t.Errorf("ipcmesh bench %s with %s set: %v, want exit status 2 saying to unset it\n%s", c.flag, c.env, err, out)
		}
	}
}

func TestStats(t *testing.T) {
	xs := []float64{5, 1, 4, 2, 3}
	if got := median(xs); got != 3 {
		t.Errorf("median %v = %v, want 3", xs, got)
	}
	if got := median([]float64{1, 2, 3, 10}); got != 2.5 {
		t.Errorf("median of an even count = %v, want 2.5", got)
	}
	if got := percentile(xs, 50); got != 3 {
		t.Errorf("p50 = %v, want 3", got)
	}
	if got := percentile(xs, 99); got != 5 {
		t.Errorf("p99 = %v, want 5", got)
	}
	hundred := make([]float64, 100)
	for i := range hundred {
		hundred[i] = float64(100 - i)
	}
	if got := percentile(hundred, 99); got != 99 {
		t.Errorf("p99 of 1..100 = %v, want 99", got)
	}
	if median(nil) != 0 || percentile(nil, 50) != 0 {
		t.Error("no samples must give 0")
	}
	if xs[0] != 5 {
		t.Error("median sorted its input in place")
	}
}

func TestFormat(t *testing.T) {
	for _, c := range []struct {
		v    float64
		unit string
		want string
	}{
		{1234567, "msgs/s", "1,234,567"},
		{999.6, "msgs/s", "1,000"},
		{0, "msgs", "0"},
		{19.94, "MiB", "19.9"},
		{0.8214, "ms", "0.821"},
		{14.48, "ms", "14.48"},
		{121.23, "ms", "121.2"},
		{500, "ms", "500"},
	} {
		if got := formatValue(c.v, c.unit); got != c.want {
			t.Errorf("formatValue(%v, %q) = %q, want %q", c.v, c.unit, got, c.want)
		}
	}
	if got := (&Target{Op: ">=", Value: 20000}).String(); got != ">= 20,000" {
		t.Errorf("target = %q", got)
	}
}

func TestTally(t *testing.T) {
	tl := newTally()
	tl.add("id1", "k:0")
	tl.add("id2", "k:1")
	tl.add("id2", "k:1") // the same message delivered again
	tl.add("id4", "k:3") // received, never acked to its sender
	lost, dup := tl.verify([]string{"k:0", "k:1", "k:2"})
	if lost != 1 || dup != 1 {
		t.Errorf("lost %d dup %d, want 1 and 1", lost, dup)
	}
	if n := tl.extra("k:", []string{"k:0", "k:1", "k:2"}); n != 1 {
		t.Errorf("extra %d, want 1", n)
	}
}
