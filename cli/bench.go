package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/ipcmesh/ipcmesh/bench"
)

// runBench measures the mesh on a private mesh of real processes (see
// package bench and docs/PERFORMANCE.md). "bench --agent MODE" is the same
// program serving as one of the bench's helper processes.
func runBench(ctx context.Context, e Env, args []string) error {
	if len(args) > 0 && args[0] == bench.AgentFlag {
		return bench.Agent(ctx, args[1:], e.Stdin, e.Stdout, e.Stderr, e.Getenv)
	}
	fs := flags("bench")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	quick := fs.Bool("quick", false, "small repetitions, for a quick look or a test; not figures to quote")
	reps := fs.Int("reps", 0, "repetitions per figure (default 5, or 2 with --quick)")
	window := fs.Int("window", bench.DefaultWindow, "sends each sender of figure (b) keeps in flight (1: wait for each ack)")
	only := fs.String("only", "", "measure only the `FIGURES` given, e.g. a,c,g")
	dir := fs.String("dir", "", "make the temporary mesh folders in `DIR` (default: the system's temporary folder)")
	profile := fs.String("profile", "", "write CPU profiles of the brokers, helper processes, HTTP faces and the bench process to `DIR`")
	traceDir := fs.String("trace", "", "write execution traces of the brokers, helper processes, HTTP faces and the bench process to `DIR` (large)")
	stores := fs.String("store", bench.StoreBbolt, "measure on `STORE`: bbolt, nats (a three-node JetStream cluster the bench starts), or both: bbolt,nats")
	face := fs.String("face", bench.FaceNative, "`FACE`: native; http to also measure figures a, b (one send in flight), c and f through the HTTP face of ipcmesh serve; broker for the face ipcmesh broker --http serves from the broker's process")
	defaultLimits := fs.Bool("default-limits", false, "keep the broker's default rate limit (500 ops/s per identity) instead of raising it")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("bench takes no arguments, got %q", strings.Join(pos, " "))
	}
	// A --reps or --window of 0 would be taken for the flag left out,
	// and run the whole bench with the defaults.
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	if *reps < 0 || given["reps"] && *reps == 0 {
		return usagef("--reps %d: want 1 or more, or leave it out for 5 (2 with --quick)", *reps)
	}
	if *window < 1 {
		return usagef("--window %d: want 1 or more (1 waits for each ack), or leave it out for %d", *window, bench.DefaultWindow)
	}
	var groups []string
	if *only != "" {
		for _, g := range strings.Split(*only, ",") {
			g = strings.TrimSpace(strings.TrimPrefix(strings.TrimSuffix(strings.TrimSpace(g), ")"), "("))
			if len(g) != 1 || g[0] < 'a' || g[0] > 'i' {
				return usagef("--only takes figures a to i separated by commas, got %q", *only)
			}
			groups = append(groups, g)
		}
	}
	var storeList []string
	for _, st := range strings.Split(*stores, ",") {
		st = strings.TrimSpace(st)
		if st != bench.StoreBbolt && st != bench.StoreNATS || slices.Contains(storeList, st) {
			return usagef("--store takes bbolt, nats or bbolt,nats, got %q", *stores)
		}
		storeList = append(storeList, st)
	}
	if slices.Contains(groups, "i") && !slices.Contains(storeList, bench.StoreNATS) {
		return usagef("figure (i), cross-host delivery, needs a cluster: add --store nats")
	}
	if *face != bench.FaceNative && *face != bench.FaceHTTP && *face != bench.FaceBroker {
		return usagef("--face takes native, http or broker, got %q", *face)
	}
	if *profile != "" && e.Getenv("IPC_PROFILE_DIR") != "" {
		return usagef("--profile and IPC_PROFILE_DIR would both profile the bench's own process: unset IPC_PROFILE_DIR")
	}
	if *traceDir != "" && e.Getenv("IPC_TRACE_DIR") != "" {
		return usagef("--trace and IPC_TRACE_DIR would both trace the bench's own process: unset IPC_TRACE_DIR")
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find this program to start the mesh's processes: %w", err)
	}
	var progress io.Writer = e.Stderr
	report, err := bench.Run(ctx, bench.Options{
		Exe:           exe,
		Quick:         *quick,
		Reps:          *reps,
		Window:        *window,
		DefaultLimits: *defaultLimits,
		Dir:           *dir,
		ProfileDir:    *profile,
		TraceDir:      *traceDir,
		Only:          groups,
		Stores:        storeList,
		Face:          *face,
		Version:       Version,
		Progress:      progress,
		Getenv:        e.Getenv,
	})
	if err != nil {
		return err
	}
	if *asJSON {
		err = bench.WriteJSON(e.Stdout, report)
	} else {
		err = bench.WriteTable(e.Stdout, report)
	}
	if err != nil {
		return err
	}
	if failed := report.Failed(); len(failed) > 0 {
		ids := make([]string, len(failed))
		for i, f := range failed {
			ids[i] = f.ID
		}
		return errors.New("some figures could not be measured: " + strings.Join(ids, ", ") + " (see the notes)")
	}
	return nil
}
