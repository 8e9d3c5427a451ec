package bench

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/tail"
)

// figG: "ipcmesh send" as a script runs it, against a running broker,
// from process start to exit: with the secret file (the default), then with
// IPC_SHARED_SECRET set, which every process stretches with argon2id.
func (r *runner) figG(ctx context.Context, res *results) error {
	for _, c := range []struct{ id, secret string }{{"g", ""}, {"g.secret", "bench-" + rand.Text()}} {
		if err := r.oneShots(ctx, res, c.id, c.secret); err != nil {
			return err
		}
	}
	res.note("g", "%d runs of `ipcmesh send --as oneshot sink MESSAGE` (after one that registered the name), each timed from before fork/exec to its exit, against a broker child; the samples are runs, not repetitions; the secret comes from the secret file in the data folder", r.sz.oneshots)
	res.note("g.secret", "as g, on a mesh whose processes have IPC_SHARED_SECRET set: each process stretches it with argon2id (19 MiB, 2 passes) before it can connect")
	return nil
}

func (r *runner) oneShots(ctx context.Context, res *results, id, secret string) error {
	m, err := r.newMesh("g")
	if err != nil {
		return err
	}
	defer m.close()
	if secret != "" {
		m.vars["IPC_SHARED_SECRET"] = secret
	}
	if err := m.startBroker(ctx); err != nil {
		return err
	}
	if _, _, err := startSink(ctx, m, "sink"); err != nil {
		return err
	}
	run := func(i int) (time.Duration, error) {
		cmd := m.command("send", "--as", "oneshot", "sink", "one-shot message "+strconv.Itoa(i))
		stderr := &tail.Buffer{Max: 4 << 10}
		cmd.Stdout, cmd.Stderr = io.Discard, stderr
		start := time.Now()
		err := cmd.Run()
		took := time.Since(start)
		if err != nil {
			return 0, fmt.Errorf("ipcmesh send: %v: %s", err, strings.TrimSpace(stderr.String()))
		}
		return took, nil
	}
	// The first run registers the name; the rest resume its session, as a
	// script's calls do.
	if _, err := run(-1); err != nil {
		return err
	}
	for i := range r.sz.oneshots {
		d, err := run(i)
		if err != nil {
			return err
		}
		res.add(id, ms(d))
	}
	r.logf("(g) %d runs, median %.1f ms (%s)", r.sz.oneshots, median(res.samples[id]), map[bool]string{true: "secret file", false: "IPC_SHARED_SECRET"}[secret == ""])
	return nil
}
