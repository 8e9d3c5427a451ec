package cli

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ipcmesh/ipcmesh/election"
	"github.com/ipcmesh/ipcmesh/internal/human"
	"github.com/ipcmesh/ipcmesh/internal/untrusted"
	"github.com/ipcmesh/ipcmesh/ipc"
	"github.com/ipcmesh/ipcmesh/natsstore"
	"github.com/ipcmesh/ipcmesh/store"
)

func runList(ctx context.Context, e Env, args []string) (err error) {
	c := onMesh("list")
	asJSON := c.Bool("json", false, "print the instances as JSON")
	p, _, err := c.open(ctx, e, args, noArgs("list"))
	if err != nil {
		return err
	}
	defer closeAll(p, &err)
	insts, err := p.List(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(e.Stdout, insts)
	}
	if len(insts) == 0 {
		fmt.Fprintln(e.Stdout, "No instances registered yet: ipcmesh register NAME")
		return nil
	}
	now := time.Now()
	tw := tabwriter.NewWriter(e.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tPRESENCE\tLAST SEEN\tUNREAD\tSTATUS")
	for _, in := range insts {
		presence := "offline"
		if in.Online {
			presence = "online"
		}
		status := untrusted.Line(in.Status)
		if in.Description != "" {
			status += " (" + untrusted.Line(in.Description) + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", in.Name, presence, human.Ago(in.LastSeen, now), in.Unread, strings.TrimSpace(status))
	}
	return tw.Flush()
}

func runStatus(ctx context.Context, e Env, args []string) (err error) {
	c := onMesh("status")
	c.asksBroker = true
	asJSON := c.Bool("json", false, "print the status as JSON")
	if _, err := c.prepare(e, args, noArgs("status")); err != nil {
		return err
	}
	if c.unused != nil {
		// Said once a broker answers: with none running, status has to
		// start one, and the join fails with the setting instead.
		defer func() {
			if err == nil {
				fmt.Fprintf(e.Stderr, "warning: %v; status does not need it, but the other commands refuse it: fix it or unset it\n", c.unused)
			}
		}()
	}
	if w, ok := election.Working(c.cfg); ok && !*asJSON {
		// Joining would wait for the broker to serve, up to a minute,
		// saying nothing; a person asks status to know what goes on.
		// JSON, read by scripts, waits for the broker's own answer.
		return sayWorking(e.Stdout, c.cfg, w)
	}
	p, err := election.Join(ctx, c.cfg)
	if err != nil {
		return err
	}
	defer closeAll(p, &err)
	s, err := p.Status(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(e.Stdout, s)
	}
	tw := tabwriter.NewWriter(e.Stdout, 0, 4, 2, ' ', 0)
	switch {
	case p.IsBroker():
		fmt.Fprintln(tw, "note:\tno broker was running; this command hosted one for its own run")
	case p.SpawnedBroker() != 0:
		// The broker took this command's environment, so its idle
		// period is this command's: the one that applies, not the
		// default.
		idle := c.cfg.BrokerIdle
		if idle <= 0 {
			idle = election.DefaultBrokerIdle
		}
		fmt.Fprintf(tw, "note:\tno broker was running; this command started one in the background (pid %d), which stops by itself once no peer has been connected for %s (IPC_BROKER_IDLE); ipcmesh stop stops it now\n", p.SpawnedBroker(), human.Period(idle))
	}
	fmt.Fprintf(tw, "broker:\tpid %d on %s, up %s, protocol v%d, %s\n", s.Broker.PID, s.Broker.Addr, s.Uptime, s.Version, brokerRevision(s.Broker.Revision))
	fmt.Fprintf(tw, "data folder:\t%s (secret from %s)\n", s.Broker.DataDir, s.SecretFrom)
	online := "nobody"
	if len(s.Online) > 0 {
		online = strings.Join(s.Online, ", ")
	}
	fmt.Fprintf(tw, "online:\t%s\n", online)
	// The count is the broker's: every open connection, this command's
	// own and those of unnamed peers (an HTTP face's) among them.
	fmt.Fprintf(tw, "connections:\t%d open (this command's included); checks waiting for mail: %d\n", s.Connections, s.Waiting)
	switch s.Store {
	case ipc.StoreUnavailable:
		// What status is run for when the mesh refuses everything: the
		// counts are the store's, and the store's error says what to do.
		fmt.Fprintf(tw, "store:\tunavailable: %s\n", s.StoreError)
		fmt.Fprintln(tw, "instances:\tunknown (the store did not answer)")
		fmt.Fprintln(tw, "messages:\tunknown (the store did not answer)")
		printDisk(tw, s)
		return tw.Flush()
	}
	fmt.Fprintf(tw, "instances:\t%d registered\n", deref(s.Instances))
	fmt.Fprintf(tw, "messages:\t%d stored, %d unread\n", deref(s.Messages), deref(s.Unread))
	// A broker older than the Store field answers only when its store
	// did, and one whose store is kept in a cluster gives no file.
	var store []string
	if s.Store != "" {
		store = append(store, s.Store)
	}
	if s.StoreBytes > 0 {
		line := fmt.Sprintf("%s on disk, %s of it free", human.Size(int(s.StoreBytes)), human.Size(int(s.StoreFree)))
		if compactPays(s.StoreBytes, s.StoreFree) {
			// The store reuses the free pages but never gives them back.
			line += ": ipcmesh compact gives it back to the disk"
		}
		store = append(store, line)
	}
	if len(store) > 0 {
		fmt.Fprintf(tw, "store:\t%s\n", strings.Join(store, ", "))
	}
	if s.Cluster != nil {
		fmt.Fprintf(tw, "cluster:\t%s\n", clusterLine(*s.Cluster))
	}
	switch {
	case s.Log != nil:
		fmt.Fprintf(tw, "log:\t%s\n", logLine(*s.Log, time.Now()))
	case s.LogError != "":
		fmt.Fprintf(tw, "log:\tunknown: %s\n", s.LogError)
	}
	printDisk(tw, s)
	return tw.Flush()
}

// printDisk prints what status says of the data folder's disk: the room
// left, and the writes it refused. The broker says both whether or not
// its store answered.
func printDisk(w io.Writer, s ipc.StatusResult) {
	if s.StoreDiskFree != nil {
		fmt.Fprintf(w, "disk:\t%s\n", diskLine(*s.StoreDiskFree, s.StoreBytes))
	}
	if s.StoreRefused != "" {
		fmt.Fprintf(w, "writes:\t%s\n", refusedLine(s, time.Now()))
	}
}

// lowDisk is the room left on the data folder's disk below which status
// warns, unless the store is larger: a disk that fills refuses sends.
const lowDisk = 100 << 20

// diskLine says how much room is left on the data folder's disk, and
// warns before it runs out rather than after: a full disk refuses sends,
// and a compact writes its copy, about the store's size, beside the
// store.
func diskLine(free, storeBytes int64) string {
	if free >= max(lowDisk, storeBytes) {
		return fmt.Sprintf("%s left on the data folder's file system", human.Size(int(free)))
	}
	size := "" // 0 when the store did not answer: its size is not known
	if storeBytes > 0 {
		size = ", " + human.Size(int(storeBytes)) + ","
	}
	return fmt.Sprintf("only %s left on the data folder's file system: free space before it fills (a full disk refuses sends, and ipcmesh compact needs about the store's size%s beside it)",
		human.Size(int(free)), size)
}

// refusedLine tells the writes the store's disk refused for want of
// room or of permission. The store is whole and answers meanwhile, and
// writes that fit go on: whether any was taken after the last refusal is
// what a person freeing space, or making a folder writable again, needs
// to know, and that one was does not mean that the one refused would be.
func refusedLine(s ipc.StatusResult, now time.Time) string {
	at := func(t time.Time) string {
		return fmt.Sprintf("%s (%s)", t.Local().Format(time.TimeOnly), human.Ago(t, now))
	}
	want := "room"
	if s.StoreRefusedFor == ipc.RefusedForPermission {
		want = "permission"
	}
	if s.StoreTaken.IsZero() {
		return fmt.Sprintf("refused for want of %s since %s, none taken since: %s", want, at(s.StoreRefusedSince), s.StoreRefused)
	}
	return fmt.Sprintf("the last refused for want of %s at %s; writes were taken since, the last at %s: %s", want, at(s.StoreRefusedLast), at(s.StoreTaken), s.StoreRefused)
}

// clusterLine names the NATS cluster a broker keeps the mesh in: with
// several meshes (IPC_NATS_PREFIX) or clusters about, which one this is
// and whether the broker reaches it is what a person checks first.
func clusterLine(c ipc.ClusterStatus) string {
	connected := "connected to none of them now"
	if c.Connected != "" {
		connected = "connected to " + c.Connected
	}
	replicas := fmt.Sprintf("%d replicas", c.Replicas)
	if c.Replicas == 1 {
		replicas = "1 replica"
	}
	return fmt.Sprintf("stream %s (%s) on %s, %s", c.Stream, replicas, c.Servers, connected)
}

// logLine says where a cluster's log stands: what it holds, and the copy
// of the views it is trimmed below, which tells a person running a
// cluster that it does not grow without end.
func logLine(l ipc.LogStatus, now time.Time) string {
	var line string
	switch {
	case l.Last == 0:
		line = "no events yet"
	case l.First > l.Last:
		line = "no events held"
	default:
		line = fmt.Sprintf("events %d to %d (%s)", l.First, l.Last, human.Size(int(l.Bytes)))
	}
	// A view a moment behind is a view at work; one far behind lags or
	// stopped (the store's line then says why).
	switch {
	case l.Last == 0:
	case l.Applied < l.Last:
		line += fmt.Sprintf(", this broker's view at event %d", l.Applied)
	default:
		line += ", all applied here"
	}
	if len(l.Behind) > 0 {
		line += "; " + replicasLine(l.Current, l.Behind)
	}
	if l.CopiesError != "" {
		return line + fmt.Sprintf("; the copies of the views (one every %d events) are unknown: %s", l.Every, l.CopiesError)
	}
	if l.Copy == 0 {
		return line + fmt.Sprintf("; no copy of the views yet (one is made every %d events, and the log trimmed below the one before)", l.Every)
	}
	return line + fmt.Sprintf("; newest copy of the views at event %d, made %s (one every %d events; the log is trimmed below the one before)", l.Copy, human.Ago(l.Copied, now), l.Every)
}

// replicasLine says which servers that keep a cluster's log do not hold
// all of it now, and how many more the cluster may lose before its writes
// stop: with a server down the mesh works as before, and this is the one
// place that tells a person it has less to spare.
func replicasLine(current int, behind []string) string {
	all := current + len(behind)
	spare := current - (all/2 + 1)
	var then string
	switch {
	case spare < 0:
		then = "too few for a quorum: writes fail until more are back"
	case spare == 0:
		then = "one more lost stops every write"
	default:
		then = fmt.Sprintf("%d more lost stop every write", spare+1)
	}
	verb := func(n int) string {
		if n == 1 {
			return "is"
		}
		return "are"
	}
	return fmt.Sprintf("only %d of the %d servers that keep it %s current (%s %s down, cut off or catching up): %s",
		current, all, verb(current), strings.Join(behind, ", "), verb(len(behind)), then)
}

// deref is *n, or 0 for nil.
func deref(n *int) int {
	if n == nil {
		return 0
	}
	return *n
}

// compactPays reports whether a store file of size bytes, free of them
// free, is worth compacting: most of it free, and enough to matter.
func compactPays(size, free int64) bool {
	return free >= size/2 && free >= 16<<20
}

func runBackup(ctx context.Context, e Env, args []string) (err error) {
	p, pos, err := onMesh("backup").open(ctx, e, args, backupArgs)
	if err != nil {
		return err
	}
	defer closeAll(p, &err)
	r, err := p.Backup(ctx, pos[0])
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "wrote a consistent copy of the store to %s (%s)\n", pos[0], human.Size(int(r.Size)))
	if len(r.Missing) > 0 {
		// The backup is made, and as whole as the store: what it lacks
		// was lost before it, and is said, not hidden.
		list := strings.Join(r.Missing, ", ")
		if r.MoreMissing > 0 {
			list += fmt.Sprintf(" and %d more", r.MoreMissing)
		}
		fmt.Fprintf(e.Stderr, "the copy lacks %s that records of the store name, removed from the data folder or changed by hand (the store lacks them too; their readers are told so): %s\n",
			human.Count(len(r.Missing)+r.MoreMissing, "file"), list)
	}
	return nil
}

// backupArgs checks backup's positionals: the one file to write. "-",
// which other commands read as stdin, is refused rather than taken for a
// file of that name in the current folder, where a copy of the whole
// store was written unlooked-for while nothing came out on stdout.
func backupArgs(pos []string) error {
	if err := argCount(1, 1, "backup needs the file to write")(pos); err != nil {
		return err
	}
	if pos[0] == "-" {
		return usagef("backup writes a file, not stdout: give the file to write (./- for a file named -)")
	}
	return nil
}

// runRestore puts a backup back as the data folder's store, itself or, when
// a broker serves the folder, by the broker that takes its place
// (election.Restore).
func runRestore(ctx context.Context, e Env, args []string) error {
	fs := flags("restore")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("restore needs the backup file, made with ipcmesh backup")
	}
	if pos[0] == "-" {
		// Other commands read "-" as stdin; restore would look for a
		// file of that name and say there is none.
		return usagef("restore reads a file, not stdin: give the backup file, made with ipcmesh backup (./- for a file named -)")
	}
	cfg, err := meshConfig(e)
	if err != nil {
		return err
	}
	if url, _ := cfg.StoreURL(); url != "" {
		// The local store is not what this folder's broker serves, nor
		// locked while it does: a restore there would say it restored
		// the mesh and change nothing of it.
		return fmt.Errorf("this data folder's mesh is kept in the NATS cluster %s, which restore does not write to (the cluster's log is the cluster's to back up); to put the backup back as this host's own store instead, stop its ipcmesh processes and run restore with IPC_STORE=bbolt, then serve it with IPC_STORE=bbolt", natsstore.Redacted(url))
	}
	if election.Served(cfg) {
		// A file that is no backup is refused before anything is said
		// of a hand-over that will not happen (Restore checks it again).
		if err := store.CheckBackup(cfg.DataDir, pos[0]); err != nil {
			return err
		}
		sayHandingOver(e.Stderr, "restores the backup into")
	}
	rep, err := election.Restore(ctx, cfg, pos[0])
	if err != nil {
		return err
	}
	res := rep.Restore
	fmt.Fprintf(e.Stdout, "restored %s into %s: %s (%d unread), %s\n", pos[0], cfg.DataDir,
		human.Count(res.Stats.Messages, "message"), res.Stats.Unread, human.Count(res.Stats.Instances, "instance"))
	if res.Damaged {
		fmt.Fprintf(e.Stdout, "the damaged store was set aside, as it was, in %s\n", res.Previous)
	} else {
		fmt.Fprintf(e.Stdout, "the store as it was is kept in %s (restore it to undo)\n", res.Previous)
	}
	sayHandedOver(e.Stdout, "restored", rep)
	return nil
}

// sayWorking is status while the process that holds the mesh port does
// work before a broker serves (election.Working).
func sayWorking(w io.Writer, cfg election.Config, work election.Work) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "broker:\tnone serves yet: pid %d on %s is %s, for %s; a broker serves once that is done, and calls wait for it meanwhile (up to a minute)\n",
		work.PID, work.Addr, work.Doing(), time.Since(work.Since).Round(time.Second))
	fmt.Fprintf(tw, "data folder:\t%s\n", cfg.DataDir)
	return tw.Flush()
}

// sayHandingOver says on w (stderr), before a compact or restore that a
// broker's stop hands over (a broker serves the folder), what the
// command is about to do: it waits as long as the work takes, minutes
// for a store of gigabytes, and a user who sees nothing happen might
// take it for hung. It says what is asked, not what is done: a broker
// stopped with Ctrl-Z stops for nothing, and the command says so next.
func sayHandingOver(w io.Writer, does string) {
	fmt.Fprintf(w, "a broker serves this folder: it is asked to stop, and the broker that takes its place %s the store before it serves; the assistants' calls wait meanwhile\n", does)
}

// sayHandedOver says, after a compact or a restore handed over, which
// broker was stopped for it and which did it: a broker the user started
// by hand (ipcmesh broker, with its HTTP face) is not started again by
// the peers, which start a plain one.
func sayHandedOver(w io.Writer, did string, rep election.HandoverReport) {
	if rep.PID == 0 {
		return
	}
	fmt.Fprintf(w, "a broker served the folder: it (pid %d) was stopped, and the broker that took its place (pid %d) %s the store before serving; start again any broker you ran yourself (ipcmesh broker, broker --http)\n", rep.Stopped, rep.PID, did)
}

// runCompact rewrites the data folder's store into a copy that holds only
// the pages in use, and puts it in place of the file, itself or, when a
// broker serves the folder, by the broker that takes its place
// (election.Compact).
func runCompact(ctx context.Context, e Env, args []string) error {
	fs := flags("compact")
	dryRun := fs.Bool("dry-run", false, "write and check the copy, say how much it would free, and change nothing")
	asJSON := fs.Bool("json", false, "print what was done as JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("compact takes no arguments: it compacts the store of the data folder (IPC_DATA_DIR, ~/.ipcmesh by default)")
	}
	cfg, err := meshConfig(e)
	if err != nil {
		return err
	}
	if url, _ := cfg.StoreURL(); url != "" {
		// The folder's own database is not what its broker serves: a
		// compact of it would say it freed the mesh's space and free none.
		return fmt.Errorf("this data folder's mesh is kept in the NATS cluster %s, whose nodes keep its files (compact works on a folder's own store, the one IPC_STORE=bbolt serves)", natsstore.Redacted(url))
	}
	if *dryRun && election.Served(cfg) {
		// What a compact would free, the broker says: stopping it for a
		// copy that is thrown away would cost a failover for nothing.
		return compactEstimate(ctx, e, cfg, *asJSON)
	}
	if !*dryRun && election.Served(cfg) {
		sayHandingOver(e.Stderr, "compacts")
	}
	rep, err := election.Compact(ctx, cfg, *dryRun)
	if err != nil {
		return err
	}
	res, took := rep.Compact, rep.Took
	if *asJSON {
		return printJSON(e.Stdout, compactResult{
			Path: res.Path, DryRun: *dryRun, Before: res.Before, After: res.After, Freed: max(res.Before-res.After, 0),
			Messages: res.Stats.Messages, Unread: res.Stats.Unread, Instances: res.Stats.Instances,
			TookMS: took.Milliseconds(), Broker: rep.PID, Stopped: rep.Stopped,
		})
	}
	kept := fmt.Sprintf("%s, %d unread", human.Count(res.Stats.Messages, "message"), res.Stats.Unread)
	if *dryRun {
		fmt.Fprintf(e.Stdout, "compacting %s would take it from %s to %s (%s); nothing was changed\n",
			res.Path, human.Size(int(res.Before)), human.Size(int(res.After)), kept)
		sayHandedOver(e.Stdout, "wrote and checked a compacted copy of", rep)
		return nil
	}
	fmt.Fprintf(e.Stdout, "compacted %s: %s -> %s (%s kept) in %s\n",
		res.Path, human.Size(int(res.Before)), human.Size(int(res.After)), kept, took.Round(time.Millisecond))
	sayHandedOver(e.Stdout, "compacted", rep)
	return nil
}

// compactEstimate answers compact --dry-run on a folder a broker serves
// from what the broker says of its store: its file's size and its free
// pages, which a compact gives back.
func compactEstimate(ctx context.Context, e Env, cfg election.Config, asJSON bool) (err error) {
	p, err := election.Join(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeAll(p, &err)
	s, err := p.Status(ctx)
	if err != nil {
		return err
	}
	if s.StoreBytes == 0 || s.Messages == nil || s.Unread == nil || s.Instances == nil {
		why := "an older ipcmesh, which does not say how large its store is"
		if s.StoreError != "" {
			why = "its store is unavailable: " + s.StoreError
		}
		return fmt.Errorf("the broker serving the folder (pid %d) runs %s; ipcmesh compact without --dry-run compacts all the same", s.Broker.PID, why)
	}
	path := store.DatabasePath(cfg.DataDir)
	after := max(s.StoreBytes-s.StoreFree, 0)
	if s.StoreDiskFree != nil && *s.StoreDiskFree < after {
		// A dry run with no broker writes the copy, and fails so: one
		// that asks the broker must not promise a compact that would.
		return fmt.Errorf("compact %s would find no room for its copy, which takes about %s, beside it: the disk has %s left (the broker serving it, pid %d, says so); free space in %s, then compact; nothing was changed",
			path, human.Size(int(after)), human.Size(int(*s.StoreDiskFree)), s.Broker.PID, cfg.DataDir)
	}
	if asJSON {
		return printJSON(e.Stdout, compactResult{
			Path: path, DryRun: true, Estimate: true, Before: s.StoreBytes, After: after, Freed: s.StoreFree,
			Messages: *s.Messages, Unread: *s.Unread, Instances: *s.Instances, Broker: s.Broker.PID,
		})
	}
	fmt.Fprintf(e.Stdout, "compacting %s would take it from %s to about %s (%s, %d unread); nothing was changed (the broker serving it, pid %d, says how much of it is free)\n",
		path, human.Size(int(s.StoreBytes)), human.Size(int(after)), human.Count(*s.Messages, "message"), *s.Unread, s.Broker.PID)
	return nil
}

// compactResult is what compact --json prints.
type compactResult struct {
	Path   string `json:"path"`
	DryRun bool   `json:"dry_run,omitempty"`
	// Estimate is set on a dry run that a serving broker answered from
	// its store's free pages, without writing a copy.
	Estimate  bool  `json:"estimate,omitempty"`
	Before    int64 `json:"before_bytes"`
	After     int64 `json:"after_bytes"`
	Freed     int64 `json:"freed_bytes"` // what the file gave back (with dry_run: would give)
	Messages  int   `json:"messages"`
	Unread    int   `json:"unread"`
	Instances int   `json:"instances"`
	TookMS    int64 `json:"took_ms"`
	// Broker and Stopped are set when a broker served the folder and the
	// compact was handed over: the broker that did it, and the one
	// stopped for it.
	Broker  int `json:"broker_pid,omitempty"`
	Stopped int `json:"stopped_pid,omitempty"`
}

func runVersion(_ context.Context, e Env, args []string) error {
	pos, err := parse(flags("version"), args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("version takes no arguments")
	}
	fmt.Fprintf(e.Stdout, "ipcmesh %s (protocol v%d, revision %d%s)\n", Version, ipc.Version, ipc.Revision, build())
	return nil
}

// brokerRevision says how the broker's revision compares with this
// build's: a broker left running by an older build, as a detached one is
// after an upgrade until it idles out, refuses what it does not know, and
// status is where its user looks for why.
func brokerRevision(rev int) string {
	switch {
	case rev < ipc.Revision:
		// A peer of the older build (an assistant started before the
		// upgrade) that is still connected takes the port again after a
		// stop, before any of this version: without the restart, the
		// advice to stop would be followed in a loop.
		return fmt.Sprintf("revision %d: an older ipcmesh than this one (revision %d), which refuses requests it would not honour; ipcmesh stop lets a peer of this version take over (restart the assistants that still run the older ipcmesh first, or one of them takes over again)", rev, ipc.Revision)
	case rev > ipc.Revision:
		return fmt.Sprintf("revision %d: a newer ipcmesh than this one (revision %d)", rev, ipc.Revision)
	}
	return fmt.Sprintf("revision %d, as this ipcmesh", rev)
}

// build names the module version or commit the binary was built from, as
// the Go toolchain recorded it, so that two builds, which share Version,
// can be told apart; "" when it recorded neither.
func build() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return ", " + v
	}
	var commit, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			commit = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = " with changes"
			}
		}
	}
	if commit == "" {
		return ""
	}
	return fmt.Sprintf(", commit %.12s%s", commit, modified)
}
