// Package bench measures the mesh the way its users feel it: it starts a
// private mesh of real processes (an "ipcmesh broker" child, helper
// children, and peers in the calling process) on a free 127.0.0.1 port in a
// temporary folder, drives it, and reports each figure as the median over
// repetitions with min and max, next to the targets of issue 4.
//
// The calling process needs the ipcmesh binary (Options.Exe): the broker,
// the one-shot sends and the helper processes are that binary. Helper
// processes are "ipcmesh bench --agent MODE", served by Agent.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"runtime/trace"
	"slices"
	"strings"
	"time"

	"github.com/ipcmesh/ipcmesh/cluster"
)

// Options configure a run.
type Options struct {
	// Exe is the ipcmesh binary the mesh's processes run (required).
	Exe string
	// Quick runs small repetitions, for tests: every figure is measured,
	// on less data, and the report says so.
	Quick bool
	// Reps is the number of repetitions (5; 2 with Quick). The failover
	// figure (d) runs 4*Reps of them (Reps with Quick), each on a fresh
	// mesh, and the one-shot figure (g) 4*Reps processes (2*Reps).
	Reps int
	// DefaultLimits keeps the broker's default per-identity rate limit
	// (500 ops/s, burst 1000). By default the bench raises it so that the
	// flood guard does not decide the throughput figures.
	DefaultLimits bool
	// Dir is where the temporary folder is made (os.TempDir()). Its file
	// system's fsync cost bounds every acked send.
	Dir string
	// ProfileDir, when set, gets CPU profiles: the broker children run as
	// "ipcmesh bench --agent broker --cpuprofile FILE" (the same join and
	// hosting code as "ipcmesh broker"), and this process is profiled too.
	ProfileDir string
	// TraceDir, when set, gets a runtime execution trace of each broker
	// child (run as the broker agent, as with ProfileDir), of each helper
	// process, of each HTTP face and of this process: where they wait,
	// not only where they compute (go tool trace -pprof=sched|syscall|sync
	// FILE). A lone sender's cycle runs through two processes, so the
	// broker's trace alone leaves part of it unexplained. A trace grows
	// by about a megabyte for every 2,000 sends.
	TraceDir string
	// Window is how many sends each sender of figure (b) keeps in flight
	// (DefaultWindow). 1 makes every sender wait for each ack before its
	// next send, as figure (a) does.
	Window int
	// Only lists the figure groups to run ("a".."i"); empty runs all. The
	// context figures (fsync, loopback) always run: they take a second.
	Only []string
	// Stores lists the stores to measure, in order: StoreBbolt (the
	// default) and StoreNATS, whose figures (a)-(e) and (i) run on a
	// three-node JetStream cluster the bench starts.
	Stores []string
	// Face is FaceNative (the default), or FaceHTTP or FaceBroker, which
	// also measure figures (a), (b), (c) and (f) through the HTTP face
	// (httpGroups): served beside the broker, or by its process.
	Face string
	// Version is the ipcmesh version, for the report.
	Version string
	// Progress receives a line per step (nil: none).
	Progress io.Writer
	// Getenv reads IPC_LOG, passed on to the mesh (os.Getenv).
	Getenv func(string) string
}

// DefaultWindow is how many sends each sender of figure (b) keeps in
// flight by default: a client with a backlog (a script relaying events, an
// HTTP face serving many callers through one name) pipelines its sends on
// its one connection, and every ack still comes after the fsync that made
// its message durable. The protocol allows it: responses carry the id of
// their request.
const DefaultWindow = 16

// Report is the outcome of a run.
type Report struct {
	Version    string    `json:"version,omitempty"`
	Quick      bool      `json:"quick"`
	Reps       int       `json:"reps"`
	Window     int       `json:"window"`
	RateLimit  string    `json:"rate_limit"`
	Started    time.Time `json:"started"`
	Seconds    float64   `json:"seconds"`
	Machine    Machine   `json:"machine"`
	Figures    []Figure  `json:"figures"`
	Notes      []string  `json:"notes,omitempty"`
	ProfileDir string    `json:"profile_dir,omitempty"`
}

// Figure is one measured figure.
type Figure struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Unit string `json:"unit"`
	// Median, Min and Max summarise Samples: one per repetition (for the
	// one-shot figure, one per process run).
	Median  float64   `json:"median"`
	Min     float64   `json:"min"`
	Max     float64   `json:"max"`
	Samples []float64 `json:"samples"`
	// Target is the target ("" for figures given as context);
	// JudgedOn says which of Median and Max is held against it.
	Target   *Target `json:"target,omitempty"`
	JudgedOn string  `json:"judged_on,omitempty"`
	// Met is nil when there is no target or no figure.
	Met *bool `json:"met,omitempty"`
	// NA is set when the figure cannot be measured on this system.
	NA    bool   `json:"na,omitempty"`
	Note  string `json:"note,omitempty"`
	Error string `json:"error,omitempty"`
}

// Target is a bound a figure must meet.
type Target struct {
	Op    string  `json:"op"` // ">=" or "<="
	Value float64 `json:"value"`
}

func (t *Target) String() string {
	if t == nil {
		return ""
	}
	return t.Op + " " + formatValue(t.Value, "")
}

func (t *Target) met(v float64) bool {
	if t.Op == ">=" {
		return v >= t.Value
	}
	return v <= t.Value
}

// Failed returns the figures that could not be measured.
func (r *Report) Failed() []Figure {
	var out []Figure
	for _, f := range r.Figures {
		if f.Error != "" {
			out = append(out, f)
		}
	}
	return out
}

// Figure returns the figure with id, if the report has it.
func (r *Report) Figure(id string) (Figure, bool) {
	for _, f := range r.Figures {
		if f.ID == id {
			return f, true
		}
	}
	return Figure{}, false
}

// runner is one run in progress.
type runner struct {
	opts     Options
	sz       sizes
	root     string // the run's temporary folder
	profiles int
	notes    []string

	cluster  *cluster.Local // the NATS cluster, once a NATS store is measured
	natsURL  string         // set while meshes are made on the cluster
	prefixes int            // streams made on the cluster so far
}

func (r *runner) getenv(k string) string { return r.opts.Getenv(k) }

func (r *runner) logf(format string, args ...any) {
	if r.opts.Progress != nil {
		fmt.Fprintf(r.opts.Progress, "bench: "+format+"\n", args...)
	}
}

func (r *runner) note(format string, args ...any) {
	r.notes = append(r.notes, fmt.Sprintf(format, args...))
}

// Run measures every figure and returns the report. A figure that could not
// be measured carries its error, and the others are measured regardless;
// the error returned is for the run as a whole (no binary, no folder).
func Run(ctx context.Context, opts Options) (*Report, error) {
	if opts.Exe == "" {
		return nil, errors.New("bench: the ipcmesh binary is required")
	}
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	if len(opts.Stores) == 0 {
		opts.Stores = []string{StoreBbolt}
	}
	if opts.Window <= 0 {
		opts.Window = DefaultWindow
	}
	if opts.Reps <= 0 {
		opts.Reps = 5
		if opts.Quick {
			opts.Reps = 2
		}
	}
	root, err := os.MkdirTemp(opts.Dir, "ipcmesh-bench-")
	if err != nil {
		return nil, fmt.Errorf("bench: make a temporary folder: %w", err)
	}
	defer os.RemoveAll(root)
	if opts.ProfileDir != "" {
		stop, err := recordSelf(&opts.ProfileDir, "bench-process.pprof", pprof.StartCPUProfile, pprof.StopCPUProfile)
		if err != nil {
			return nil, err
		}
		defer stop()
	}
	if opts.TraceDir != "" {
		// The HTTP figures' clients run here: their half of a cycle is in
		// this process.
		stop, err := recordSelf(&opts.TraceDir, "bench-process.trace", trace.Start, trace.Stop)
		if err != nil {
			return nil, err
		}
		defer stop()
	}
	r := &runner{opts: opts, sz: sizesFor(opts), root: root}
	rep := &Report{
		Version:    opts.Version,
		Quick:      opts.Quick,
		Reps:       opts.Reps,
		Window:     opts.Window,
		RateLimit:  "raised (IPC_RATE_LIMIT and IPC_RATE_BURST set to 1e9 in the mesh)",
		Started:    time.Now().UTC().Round(time.Second),
		Machine:    machine(root),
		ProfileDir: opts.ProfileDir,
	}
	if opts.DefaultLimits {
		rep.RateLimit = "default (500 ops/s per identity, burst 1000)"
	}
	start := time.Now()
	defer r.closeCluster()
	if rep.Figures, err = r.runStores(ctx); err != nil {
		return nil, err
	}
	rep.Seconds = time.Since(start).Seconds()
	rep.Machine.LoadAfter = loadAverage()
	if rep.Machine.BusyBefore > 0.2 {
		r.note("the machine was %.0f%% busy with other work just before the run (load average %.1f on %d CPUs): it likely shared the machine with the bench, so these figures understate the mesh; run again on a quiet machine",
			100*rep.Machine.BusyBefore, rep.Machine.LoadBefore, rep.Machine.NumCPU)
	}
	rep.Notes = append(r.notes, httpNotes(rep)...)
	return rep, ctx.Err()
}

// group is a set of figures measured together.
type group struct {
	key     string
	title   string
	rows    []row
	timeout time.Duration
	run     func(ctx context.Context, res *results) error
}

// row describes one figure of a group.
type row struct {
	id, name, unit string
	target         *Target
	judge          string // "median" (default) or "max"
}

// results collects a group's samples and notes as it runs.
type results struct {
	samples map[string][]float64
	notes   map[string]string
	na      map[string]bool
}

func (s *results) add(id string, v float64) { s.samples[id] = append(s.samples[id], v) }

func (s *results) note(id, format string, args ...any) {
	s.notes[id] = fmt.Sprintf(format, args...)
}

// peakNA marks a peak-memory figure n/a: peakRSS reads VmHWM, which only
// linux has.
func (s *results) peakNA(id string) {
	s.na[id] = true
	s.note(id, "n/a: the peak RSS is read from /proc/PID/status (VmHWM) on linux only")
}

func (r *runner) runGroup(ctx context.Context, g group) []Figure {
	r.logf("(%s) %s", g.key, g.title)
	res := &results{samples: map[string][]float64{}, notes: map[string]string{}, na: map[string]bool{}}
	gctx, cancel := context.WithTimeout(ctx, g.timeout)
	err := g.run(gctx, res)
	cancel()
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
		err = fmt.Errorf("gave up after %v: %w", g.timeout, err)
	}
	var out []Figure
	for _, rw := range g.rows {
		f := Figure{ID: rw.id, Name: rw.name, Unit: rw.unit, Target: rw.target, Note: res.notes[rw.id]}
		f.Samples = res.samples[rw.id]
		if f.Samples == nil {
			f.Samples = []float64{}
		}
		if rw.target != nil {
			f.JudgedOn = rw.judge
			if f.JudgedOn == "" {
				f.JudgedOn = "median"
			}
		}
		switch {
		case res.na[rw.id]:
			f.NA = true
		case len(f.Samples) == 0:
			if err == nil {
				err = errors.New("no samples")
			}
			f.Error = oneLine(err)
		default:
			f.Median, f.Min, f.Max = median(f.Samples), slices.Min(f.Samples), slices.Max(f.Samples)
			if err != nil {
				// Some repetitions ran: keep them, and say why the rest
				// did not.
				f.Error = oneLine(err)
			}
			if rw.target != nil {
				v := f.Median
				if f.JudgedOn == "max" {
					v = f.Max
				}
				met := rw.target.met(v) && f.Error == ""
				f.Met = &met
			}
		}
		out = append(out, f)
	}
	if err != nil {
		r.logf("(%s) failed: %v", g.key, err)
	}
	return out
}

func oneLine(err error) string {
	return strings.ReplaceAll(strings.TrimSpace(err.Error()), "\n", " ")
}

// sizes are how much work each figure does.
type sizes struct {
	sendsA    int           // (a) sends per repetition
	senders   int           // (b) concurrent senders
	sendsB    int           // (b) sends per sender per repetition
	pings     int           // (c) round trips per repetition
	failovers int           // (d) repetitions, each on a fresh mesh
	killAfter int           // (d) acked sends before the kill
	afterKill int           // (d) acked sends by the new broker before stopping
	stored    int           // (e) messages stored
	unread    int           // (e) of which unread
	lookups   int           // (e) checks, history pages and searches per repetition
	instances int           // (f) connected instances
	oneshots  int           // (g) one-shot processes timed
	floodFor  time.Duration // (h) how long each flood lasts
	floodIdle int           // (h) idle connections held during a flood
}

func sizesFor(o Options) sizes {
	if o.Quick {
		return sizes{sendsA: 100, senders: 8, sendsB: 50, pings: 50, failovers: o.Reps, killAfter: 20, afterKill: 10,
			stored: 5_000, unread: 5, lookups: 100, instances: 100, oneshots: 2 * o.Reps,
			floodFor: time.Second, floodIdle: 2000}
	}
	// Failover is judged on its worst case: it gets more repetitions.
	return sizes{sendsA: 2000, senders: 8, sendsB: 1000, pings: 500, failovers: 4 * o.Reps, killAfter: 200, afterKill: 50,
		stored: 100_000, unread: 5, lookups: 1000, instances: 100, oneshots: 4 * o.Reps,
		floodFor: 2 * time.Second, floodIdle: 2000}
}

// recordSelf makes *dir absolute, since the processes the bench starts
// run in folders of their own, and records this process into DIR/name
// with start until the function it returns is called.
func recordSelf(dir *string, name string, start func(io.Writer) error, stop func()) (func(), error) {
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	if abs, err := filepath.Abs(*dir); err == nil {
		*dir = abs
	}
	f, err := os.Create(filepath.Join(*dir, name))
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	if err := start(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("bench: %w", err)
	}
	return func() {
		stop()
		f.Close()
	}, nil
}
