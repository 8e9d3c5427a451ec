package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	"github.com/ipcmesh/ipcmesh/election"
)

// runBroker hosts the broker in the foreground until interrupted, for users
// who want one that outlives their assistants. On Ctrl-C or SIGTERM it hands
// over gracefully to any peer still running. With --detached it is the
// broker a peer started in the background (election.RunDetached).
//
// With --http it also serves the HTTP face, as serve does, from the same
// process: one service to run instead of two, and a REST call crosses one
// process boundary fewer on its way to the store (docs/PERFORMANCE.md).
func runBroker(ctx context.Context, e Env, args []string) (err error) {
	fs := flags("broker")
	detached := fs.Bool("detached", false, "serve the listener handed over by the peer that started this process (peers start it themselves)")
	var sf storeFlags
	sf.register(fs, true)
	var face faceFlags
	face.register(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := noArgs("broker")(pos); err != nil {
		return err
	}
	if *detached {
		if face.addr != "" {
			return usagef("--http serves the face of a broker run in the foreground, not of a detached one")
		}
		return runDetached(ctx, e, sf)
	}
	// The face's flags are checked, and its port bound, before the broker
	// starts: a mistake in them must not start and stop a broker.
	var ln net.Listener
	if face.addr != "" {
		if err := face.check(e.Getenv); err != nil {
			return err
		}
		face.warn(e.Stderr)
		if ln, err = face.listen(); err != nil {
			return err
		}
		defer ln.Close()
	}
	e.Self = "" // a dedicated broker is hosted here: that is what it is for
	cfg, err := meshConfig(e)
	if err != nil {
		return err
	}
	// ipcmesh stop asks the broker to stop (on Windows it cannot send
	// SIGTERM): it ends here as on Ctrl-C, saying who asked.
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	asked := make(chan struct{})
	cfg.StopAsked = sync.OnceFunc(func() { close(asked); stop() })
	if err := sf.apply(&cfg); err != nil {
		return err
	}
	// The node starts first: the broker's store may be on it.
	node, err := sf.startNode(ctx, &cfg)
	if err != nil {
		return err
	}
	if node != nil {
		defer node.Shutdown()
		fmt.Fprintf(e.Stdout, "NATS JetStream node %s listening on %s\n", node.Name(), node.ClientURL())
	}
	if url, _ := cfg.StoreURL(); sf.newSecret && url == "" {
		return usagef("--new-secret changes the secret recorded in the NATS cluster that keeps the mesh (IPC_STORE or --store nats://...), and this broker keeps it on this host: to change the secret of a mesh on one host, set the new IPC_SHARED_SECRET and restart its processes")
	}
	// A detached broker of this folder (started by a peer after this
	// service's last broker was killed) gives way to it.
	p, err := election.Host(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeAll(p, &err)
	if !p.IsBroker() {
		s, serr := p.Status(ctx)
		if serr != nil {
			return fmt.Errorf("a broker already serves %s", p.Addr())
		}
		return fmt.Errorf("a broker already serves %s (pid %d, up %s): stop it first (ipcmesh stop), or pick another IPC_PORT", p.Addr(), s.Broker.PID, s.Uptime)
	}
	fmt.Fprintf(e.Stdout, "ipcmesh broker serving %s (data folder %s%s); Ctrl-C hands over and stops\n", p.Addr(), p.DataDir(), clusterNote(cfg))
	if ln != nil {
		// The face's peers join the broker above, in this process, through
		// in-memory connections; they leave before it hands over.
		cfg.Dial = p.Pipe
		err = face.serve(ctx, e, cfg, ln)
	} else {
		<-ctx.Done()
	}
	select {
	case <-asked:
		fmt.Fprintln(e.Stdout, "asked to stop (ipcmesh stop): handing over and stopping")
	default:
		fmt.Fprintln(e.Stdout, "handing over and stopping")
	}
	return err
}

// runDetached is the broker a peer started: its stdout is the pipe it
// reports on, its stderr the log in the data folder, where it logs at info
// level unless IPC_LOG says otherwise, through election.DetachedLog,
// which keeps that log bounded while the broker runs.
func runDetached(ctx context.Context, e Env, sf storeFlags) error {
	cfg, err := election.FromEnv(e.Getenv)
	if err == nil {
		err = sf.apply(&cfg)
	}
	if err != nil {
		fmt.Fprintf(e.Stdout, "{\"error\":%q}\n", err.Error())
		return err
	}
	level := slog.LevelInfo
	if e.Getenv("IPC_LOG") != "" {
		level = logLevel(e.Getenv("IPC_LOG"))
	}
	cfg.Logger = slog.New(slog.NewTextHandler(election.DetachedLog(e.Stderr, cfg.DataDir), &slog.HandlerOptions{Level: level}))
	// Its report goes to a pipe whose reader may be gone (the peer that
	// started it was killed): a write there must fail, not end the broker.
	signal.Ignore(syscall.SIGPIPE)
	report, ok := e.Stdout.(io.WriteCloser)
	if !ok {
		report = nopCloser{e.Stdout}
	}
	return election.RunDetached(ctx, cfg, report)
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// runStop stops the mesh's broker. It never starts one: with no broker
// running there is nothing to stop, and it says so and succeeds.
func runStop(ctx context.Context, e Env, args []string) error {
	fs := flags("stop")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("stop takes no arguments, got %q", strings.Join(pos, " "))
	}
	cfg, unused, err := election.PeerFromEnv(e.Getenv)
	if err != nil {
		return err
	}
	if unused != nil {
		// A user who set a limit wrongly must still be able to stop
		// the broker; the next one would refuse the setting.
		fmt.Fprintf(e.Stderr, "warning: %v; stop does not need it, but the other commands refuse it: fix it or unset it\n", unused)
	}
	info, err := election.StopBroker(ctx, cfg)
	if errors.Is(err, election.ErrNoBroker) {
		// What stop is for is done: a script that stops the broker in
		// its cleanup, whether or not one runs, must not fail for it, as
		// stopping a stopped service does not.
		fmt.Fprintf(e.Stdout, "%v: nothing to stop\n", err)
		return nil
	}
	if err != nil {
		return err
	}
	how := ""
	switch {
	case info.Killed:
		// A user who expects the hand-over of Ctrl-C must not take the
		// broker's window closing without a word for a crash of its own.
		how = fmt.Sprintf(" by ending its process, as it could not be asked to hand over (%s) and Windows has no other way: nothing it acknowledged is lost, and its peers reconnect as after a crash (a broker run in the foreground ends so without a word; Ctrl-C in its window hands over instead)", info.NotAsked)
	case !info.Asked:
		how = fmt.Sprintf(" with SIGTERM, which hands over as well, as it could not be asked (%s)", info.NotAsked)
	}
	fmt.Fprintf(e.Stdout, "stopped the broker (pid %d) on %s%s; a peer still running starts the next one when it needs it\n", info.PID, info.Addr, how)
	return nil
}
