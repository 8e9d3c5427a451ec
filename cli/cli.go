// Package cli is the ipcmesh command line: the ipcmesh subcommands and the
// standalone ipc_* programs, which are the same code under other names.
//
// Every command joins the mesh like any peer (hosting the broker for its
// own run if none is running), acts, and leaves gracefully, so one-shot
// commands work whether or not a broker is up.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/election"
)

// Env is what a command runs with: its streams and environment. Tests and
// the demo run commands in-process with their own Env.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	// Self is the path of the running program, which starts a detached
	// broker when no broker is running and which install writes into an
	// assistant's config. Empty, a command hosts the broker in its own
	// process for its run, as in-process tests want, and install takes
	// the path from os.Executable.
	Self string
	// Program is the name the user typed for the command when it is a
	// standalone program, such as ipc_send; empty, it is "ipcmesh COMMAND".
	// What a command says of itself (its errors, usage line and help, and
	// the command lines they suggest) names it as it was typed.
	Program string
	// selfIsMesh is set by Main, which only the ipcmesh program calls:
	// Self is then that program, whatever its file is called, and starts
	// the detached broker. The ipc_* programs (Run) look for an ipcmesh
	// beside them.
	selfIsMesh bool
}

// OS returns the Env of the running process.
func OS() Env {
	return Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv, Self: selfPath()}
}

// selfPath is the path the running program was started by, when that
// names the program's file: a link, such as the bin/ipcmesh of a package
// manager that points into a folder of one version, stays the link.
// os.Executable gives the file the link points to, on Linux, and install
// wrote that into the assistants' configs, which then named a program
// that the next upgrade removes with its version's folder, while the
// link is moved to the new one.
func selfPath() string {
	exe, err := os.Executable()
	if err != nil || len(os.Args) == 0 || os.Args[0] == "" {
		return exe
	}
	started := os.Args[0]
	if !strings.ContainsAny(started, `/\`) {
		// Started by its name alone: the shell found it on PATH.
		if started, err = exec.LookPath(started); err != nil {
			return exe
		}
	}
	started, err = filepath.Abs(started)
	if err != nil {
		return exe
	}
	a, err := os.Stat(started)
	if err != nil {
		return exe
	}
	if b, err := os.Stat(exe); err != nil || !os.SameFile(a, b) {
		return exe
	}
	return started
}

// command is one subcommand.
type command struct {
	name, args, summary string
	example             string // one command line, shown by its help
	run                 func(ctx context.Context, e Env, args []string) error
}

func commands() []command {
	return []command{
		{"register", "NAME [--json]", "claim a name for this data folder and keep its session token", "ipcmesh register reviewer", runRegister},
		{"send", "[--type T] [--reply-to ID] [--shared KEY] [--id ID] TO MESSAGE... | TO - [--lines] [--json]", "send a message to a name or a '#channel' ('-' reads it from stdin)", `ipcmesh send reviewer "please review cli/send.go" --type request`, runSend},
		{"check", "[--wait 30s] [--from NAME] [--limit N] [--peek] [--json]", "print unread messages, then mark them read; --from: only those from NAME", "ipcmesh check --from reviewer --wait 10m", runCheck},
		{"watch", "[--json]", "print messages as they arrive until interrupted", "ipcmesh watch --as reviewer", runWatch},
		{"fetch", "ID [--json]", "print one message whole (large bodies included)", "ipcmesh fetch 18a2f0c4d9e1b7a65c3e2f1d0b9a8c7e", runFetch},
		{"broadcast", "[--id ID] MESSAGE... [--json]", "send a message to every registered instance but you", `ipcmesh broadcast "main is green again"`, runBroadcast},
		{"history", "--with NAME | --channel C | --thread ID [--since WHEN] [--until WHEN] [--before SEQ] [--after SEQ] [--limit N] [--wait 30s] [--json]", "print a conversation or a channel (newest first) or a thread; --wait waits for a reply", "ipcmesh history --with reviewer --since 48h --until 24h", runHistory},
		{"channels", "[list | find WORDS | create NAME [--description D] [--private] [--members a,b] | join NAME [--members a,b] | leave NAME] [--json]", "list, find, create, join or leave channels", `ipcmesh channels create auth-dev --description "login and tokens"`, runChannels},
		{"share", "KEY [FILE|-] [--description D] [--json]", "store content under a key for every instance to read (none or '-': stdin)", `ipcmesh share test-log build.log --description "last night's run"`, runShare},
		{"get", "KEY [--json]", "print the content stored under a key", "ipcmesh get test-log", runGet},
		{"shared", "[--json]", "list the shared keys: size, who stored them, when", "ipcmesh shared --json", runShared},
		{"search", "[WORDS...] [--from NAME] [--channel C] [--since 24h|DATE] [--until WHEN] [--limit N] [--before SEQ] [--json]", "find the messages you may read that hold every word (or match the filters)", "ipcmesh search timeout --from tester --since 24h", runSearch},
		{"set-status", "TEXT [--description D]", "set the status line list shows for you (\"\" clears it)", `ipcmesh set-status "reviewing auth.go"`, runSetStatus},
		{"list", "[--json]", "list registered instances: online or not, last seen, unread, status", "ipcmesh list --json", runList},
		{"rename", "NEW", "rename this instance; mail to the old name is forwarded for 2 hours", "ipcmesh rename reviewer-2", runRename},
		{"unregister", "", "end this instance's session and free its name", "ipcmesh unregister --as reviewer", runUnregister},
		{"status", "[--json]", "show the broker: pid, address, uptime, counts", "ipcmesh status", runStatus},
		{"broker", "[--store bbolt|nats://...] [--nats-node HOST:PORT --nats-cluster HOST:PORT --nats-routes R,... [--nats-name NAME]] [--new-secret] [--http ADDR [--tls-cert F --tls-key F] ...]", "run a dedicated broker in the foreground until interrupted; --nats-node also runs a node of the NATS cluster; --new-secret changes the secret recorded there; --http also serves the HTTP face from this process, with the flags of serve", "ipcmesh broker --http 127.0.0.1:8080", runBroker},
		{"stop", "", "stop the broker (a peer still running starts the next one)", "ipcmesh stop", runStop},
		{"backup", "FILE", "write a consistent copy of the store, large bodies included, to FILE", "ipcmesh backup mesh.backup", runBackup},
		{"restore", "FILE", "replace this data folder's store with a backup; while a broker serves the folder, the broker that takes its place restores it before it serves", "ipcmesh restore mesh.backup", runRestore},
		{"compact", "[--dry-run] [--json]", "give the space the store no longer uses back to the disk; while a broker serves the folder, the broker that takes its place compacts it before it serves", "ipcmesh compact --dry-run", runCompact},
		{"demo", "", "run a private mesh in a temporary folder and show it working", "ipcmesh demo", runDemo},
		{"serve", "--http ADDR [--tls-cert F --tls-key F] [--insecure] [--allow-origin O] [--allow-host H] [--store S]", "serve the mesh over HTTP: REST, events, MCP at /mcp, and a web page (docs/HTTP.md)", "ipcmesh serve --http 127.0.0.1:8080", runServe},
		{"cluster", "[--nodes 3] [--dir DIR]", "run a NATS JetStream cluster on this machine (loopback) and print the IPC_STORE line that puts brokers on it", "ipcmesh cluster --nodes 3", runCluster},
		{"key", "create NAME [--label L] | list | revoke ID|KEY|NAME [--json]", "make, list or revoke the HTTP face's bearer keys, each bound to one name", `ipcmesh key create reviewer --label "laptop browser"`, runKey},
		{"mcp", "[--remote URL [--key-file FILE] [--ca FILE]]", "serve the MCP tools over stdio (for Claude Code, Gemini CLI, Windsurf, ...); --remote: those of a mesh on another machine", "IPC_NAME=builder ipcmesh mcp", runMCP},
		{"hook", "check|wait [--format claude|gemini|text] [--as NAME] [--timeout 10m]", "print unread mail for an assistant's hook, or wait for mail to wake it", "ipcmesh hook check --format gemini --as builder", runHook},
		{"install", "claude|gemini|windsurf [--name X] [--scope user|project] [--dry-run] [--no-hooks]", "add ipcmesh to an assistant's MCP config", "ipcmesh install claude --name builder", runInstall},
		{"uninstall", "claude|gemini|windsurf [--scope user|project] [--dry-run]", "take out of an assistant's config exactly what install added", "ipcmesh uninstall gemini --dry-run", runUninstall},
		{"bench", "[--quick] [--json] [--reps N] [--window N] [--only a,b,...] [--store bbolt|nats|bbolt,nats] [--face native|http|broker] [--default-limits] [--dir DIR] [--profile DIR] [--trace DIR]", "measure a private mesh of real processes (yours is not touched): throughput, round trip, failover, latency, memory, on one host or a NATS cluster; docs/PERFORMANCE.md", "ipcmesh bench --quick", runBench},
		{"version", "", "print the version", "ipcmesh version", runVersion},
	}
}

// Version is the version of this build.
const Version = "0.1.0"

// usageError is a mistake in how a command was called: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// Main runs the ipcmesh command line with args (without the program name)
// and returns the exit status: 0 on success, 1 when the command failed, 2
// when it was called wrongly. Errors are one line on stderr.
func Main(e Env, args []string) int {
	if len(args) == 0 || isHelp(args[0]) || args[0] == "help" && (len(args) == 1 || args[1] == "help" || isHelp(args[1])) {
		usage(e.Stdout)
		return 0
	}
	e.selfIsMesh = true
	if args[0] == "--version" || args[0] == "-version" {
		args = append([]string{"version"}, args[1:]...)
	}
	args = commandFirst(args)
	name, rest := args[0], args[1:]
	if name == "help" {
		// ipcmesh help send is ipcmesh send --help.
		name, rest = args[1], []string{"--help"}
	}
	return Run(e, name, rest)
}

// isHelp reports whether arg asks for help as a flag does: "ipcmesh help
// --help" asks for the help of help, which is the list of commands.
func isHelp(arg string) bool {
	return arg == "-h" || arg == "--help"
}

// commandFirst moves flags typed before the command to after it:
// `ipcmesh --as alice send bob hi` is `ipcmesh send --as alice bob hi`,
// as flags may come anywhere after the command. The command is the first
// argument that names one, before any "--". Without one, the first word
// close to a command's name is moved instead, to be reported as the
// mistyped command it is (`ipcmesh --as me chek`: did you mean check?);
// without such a word the arguments stay as they are, and the flag first
// is reported as no command.
func commandFirst(args []string) []string {
	if !strings.HasPrefix(args[0], "-") {
		return args
	}
	first := func(match func(string) bool) []string {
		for i, a := range args {
			if a == "--" {
				break
			}
			if !strings.HasPrefix(a, "-") && match(a) {
				moved := append([]string{a}, args[:i]...)
				return append(moved, args[i+1:]...)
			}
		}
		return nil
	}
	if moved := first(func(a string) bool { _, ok := lookup(a); return ok }); moved != nil {
		return moved
	}
	if moved := first(func(a string) bool { return closestCommand(a) != "" }); moved != nil {
		return moved
	}
	return args
}

// lookup returns the command called name.
func lookup(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// Run runs one subcommand by name, as the standalone ipc_* programs do.
// -h or --help prints its help on stdout.
func Run(e Env, name string, args []string) int {
	cmd, ok := lookup(name)
	if !ok {
		fmt.Fprintf(e.Stderr, "ipcmesh: %s\n", unknownCommand(name))
		return 2
	}
	ctx, stop, caught := notifyInterrupt()
	code := runCommand(ctx, e, cmd, args)
	stop()
	if sig := caught(); sig != nil && !untilInterrupted[name] {
		// Interrupted, and done cleaning up: end as the signal would have,
		// so that a script that is interrupted stops too.
		return dieOf(sig)
	}
	return code
}

// runCommand is Run under ctx, which a test can call off: some commands
// run until they are interrupted.
func runCommand(ctx context.Context, e Env, cmd command, args []string) int {
	name := cmd.name
	stopProfile, err := startProfile(e, name)
	if name == "hook" {
		stopProfile, err = quietProfile(e, stopProfile, err)
	}
	if err == nil {
		err = cmd.run(ctx, e, args)
		if perr := stopProfile(); err == nil {
			err = perr
		}
	}
	if err == nil {
		return 0
	}
	var ex *exitStatus
	if errors.As(err, &ex) {
		return ex.code // the command has said what it had to
	}
	if errors.Is(err, flag.ErrHelp) {
		var h *helpRequest
		errors.As(err, &h) // a command without flags returns flag.ErrHelp itself
		printHelp(e, cmd, h)
		return 0
	}
	if readerGone(e, err) {
		// Whatever the command did not print, nobody was reading it.
		return readerGoneStatus
	}
	typed := e.typed(name)
	fmt.Fprintf(e.Stderr, "%s: %s\n", typed, e.asTyped(name, oneLine(err)))
	if calledWrongly(err) {
		fmt.Fprintf(e.Stderr, "usage: %s (%s --help says more)\n", strings.TrimSpace(typed+" "+cmd.args), typed)
		return 2
	}
	return 1
}

// calledWrongly reports whether err says the command was called wrongly
// (exit status 2) rather than that it failed (1): a usage error, or a
// name or channel name that breaks the naming rule, which the mesh
// refuses as invalid_name whichever command gave it (register NAME, send
// TO, --as, --with, IPC_NAME). No run of the same command line can go
// better.
func calledWrongly(err error) bool {
	var ue *usageError
	return errors.As(err, &ue) || ipcmesh.CodeOf(err) == ipcmesh.CodeInvalidName
}

// typed is the command cmd as the user typed it: "ipcmesh send", or the
// standalone program's own name.
func (e Env) typed(cmd string) string {
	if e.Program != "" {
		return e.Program
	}
	return "ipcmesh " + cmd
}

// asTyped says text, which names the command cmd "ipcmesh CMD" as the
// commands' messages do, with the command as the user typed it.
func (e Env) asTyped(cmd, text string) string {
	if e.Program == "" {
		return text
	}
	return strings.ReplaceAll(text, "ipcmesh "+cmd, e.Program)
}

func oneLine(err error) string {
	return asCommandLine.Replace(strings.ReplaceAll(strings.TrimSpace(err.Error()), "\n", " "))
}

// asCommandLine words the mesh's advice, which speaks of wire ops and
// limits, as the commands and settings of the command line: the wire
// protocol knows neither.
var asCommandLine = strings.NewReplacer(
	"channel_list", "ipcmesh channels",
	"channel_create", "ipcmesh channels create",
	"channel_join", "ipcmesh channels join",
	"channel_leave", "ipcmesh channels leave",
	"register or resume first", "register one first (ipcmesh register NAME)",
	"the broker's message limit", "the broker's message limit (IPC_MAX_MESSAGE_BYTES, 8 MiB by default)",
)

func logger(e Env) *slog.Logger {
	return slog.New(slog.NewTextHandler(e.Stderr, &slog.HandlerOptions{Level: logLevel(e.Getenv("IPC_LOG"))}))
}

// checkLogLevel refuses an IPC_LOG that names no level, which would
// otherwise log at warn without a word.
func checkLogLevel(s string) error {
	switch strings.ToLower(s) {
	case "", "debug", "info", "warn", "error":
		return nil
	}
	return election.BadValue("IPC_LOG", s, "debug, info, warn or error")
}

// logLevel is the level IPC_LOG names: debug, info, warn (the default) or
// error.
func logLevel(s string) slog.Level {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug
	case "info":
		return slog.LevelInfo
	case "error":
		return slog.LevelError
	}
	return slog.LevelWarn
}
