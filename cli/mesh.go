package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/auth"
	"github.com/ipcmesh/ipcmesh/autocheck"
	"github.com/ipcmesh/ipcmesh/election"
	"github.com/ipcmesh/ipcmesh/ipc"
)

// meshConfig is the mesh described by the environment, as every command
// that joins it sees it: a broker it has to start runs detached.
func meshConfig(e Env) (election.Config, error) {
	cfg, err := election.FromEnv(e.Getenv)
	if err != nil {
		return cfg, err
	}
	return withLogging(e, cfg)
}

// withLogging completes cfg, read from e's environment, for a command:
// its log, how it starts a detached broker, and the auto-check setting
// that follows a rename.
func withLogging(e Env, cfg election.Config) (election.Config, error) {
	if err := checkLogLevel(e.Getenv("IPC_LOG")); err != nil {
		return cfg, err
	}
	cfg.Logger = logger(e)
	cfg.Detach = detachCommand(e)
	cfg.OnRenamed = func(old, renamed string) {
		// A rename an assistant's server sent and got no answer to,
		// picked up by a command: the setting its hooks read follows.
		if err := autocheck.Move(cfg.DataDir, old, renamed); err != nil {
			cfg.Logger.Warn("the auto-check setting did not follow the rename", "old", old, "new", renamed, "err", err)
		}
	}
	return cfg, nil
}

// detachCommand is how this program starts a detached broker: the ipcmesh
// binary (this one, whatever its file is called, or the one installed
// beside an ipc_* program) with "broker --detached". Without one the
// broker is hosted in-process.
func detachCommand(e Env) []string {
	self := e.Self
	if self == "" {
		return nil
	}
	ext := filepath.Ext(self)
	if e.selfIsMesh || strings.TrimSuffix(filepath.Base(self), ext) == "ipcmesh" {
		return []string{self, "broker", "--detached"}
	}
	sibling := filepath.Join(filepath.Dir(self), "ipcmesh"+ext)
	if fi, err := os.Stat(sibling); err == nil && fi.Mode().IsRegular() {
		return []string{sibling, "broker", "--detached"}
	}
	return nil
}

// join joins the mesh described by the environment.
func join(ctx context.Context, e Env, subscribe bool, onEvent func(ipc.Event)) (*election.Peer, error) {
	cfg, err := meshConfig(e)
	if err != nil {
		return nil, err
	}
	cfg.Subscribe = subscribe
	cfg.OnEvent = onEvent
	return election.Join(ctx, cfg)
}

// readAtMost reads r to its end, unless it holds more than limit bytes:
// then it stops there, without reading the rest, and reports over. A
// command refuses such content before holding all of it in memory, as
// the broker would refuse it anyway.
func readAtMost(r io.Reader, limit int) (b []byte, over bool, err error) {
	b, err = io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return nil, false, err
	}
	if len(b) > limit {
		return nil, true, nil
	}
	return b, false, nil
}

// identity is the --as flag shared by the commands that act as a name.
type identity struct {
	as string
	// sessionOnly, when set, makes actAs act only as a name this data
	// folder holds a session for, never claim one; it is what the command
	// does to the name (unregister, rename), for the error. A name
	// registered on the spot to be unregistered or renamed at once is a
	// typo made into an instance, the command saying it freed or renamed
	// a name while the one meant stayed as it was.
	sessionOnly string
}

func (id *identity) register(fs *flag.FlagSet) {
	fs.StringVar(&id.as, "as", "", "act as `NAME` (default: IPC_NAME, else the name registered last here)")
}

// name is the name chosen by --as or IPC_NAME, "" for "the last one".
func (id *identity) name(e Env) string {
	name, _ := id.chosen(e)
	return name
}

// chosen is the name chosen for the command and how it was chosen ("--as"
// or "IPC_NAME"); "", "" when the data folder's default name applies.
func (id *identity) chosen(e Env) (name, how string) {
	if id.as != "" {
		return id.as, "--as"
	}
	if n := e.Getenv("IPC_NAME"); n != "" {
		return n, "IPC_NAME"
	}
	return "", ""
}

// actAs makes p act as the chosen identity. A name chosen explicitly that
// this data folder holds no live session for is registered on the spot, so
// IPC_NAME=ci ipc_send reviewer "done" just works in a fresh script. That
// is for this command only: the data folder's default name stays, and a
// name renamed away is refused rather than taken back.
func (id *identity) actAs(ctx context.Context, e Env, p *election.Peer) (ipc.Session, error) {
	name, how := id.chosen(e)
	if name != "" {
		if err := ipcmesh.ValidateName(name); err != nil {
			return ipc.Session{}, fmt.Errorf("%s: %w", how, err)
		}
	}
	s, err := p.Resume(ctx, name)
	if err == nil || name == "" {
		return s, err
	}
	switch code := ipcmesh.CodeOf(err); {
	case id.sessionOnly != "" && code == ipcmesh.CodeNotRegistered:
		if _, lerr := (auth.Keyring{Dir: p.DataDir()}).Load(name); lerr != nil && !errors.Is(lerr, fs.ErrNotExist) {
			// The folder holds the name's token file, but no token in
			// it: the file, and how to mend it, are what to tell.
			return s, ipcmesh.Errorf(ipcmesh.CodeNotRegistered, "%s %s: %v; nothing was done", how, name, lerr)
		}
		return s, ipcmesh.Errorf(ipcmesh.CodeNotRegistered,
			"%s %s: this data folder holds no session for the name %q, so it cannot %s it; nothing was done%s (ipcmesh list shows the registered names; only the data folder that registered a name can %s it)",
			how, name, name, id.sessionOnly, heldNear(ctx, p, name, how), id.sessionOnly)
	case code == ipcmesh.CodeNotRegistered, code == ipcmesh.CodeUnauthorized:
		s, err = p.Claim(ctx, name)
		if err == nil {
			warnCaseTwin(ctx, e, p, name, how)
		}
		if ipcmesh.CodeOf(err) == ipcmesh.CodeInvalidName {
			// The mesh refuses a new name it would keep (one that
			// begins with '-'): say which setting gave it, which
			// nothing on the command line shows when it is IPC_NAME.
			return s, fmt.Errorf("%s: %w", how, err)
		}
	}
	var re *ipcmesh.Error
	if errors.As(err, &re) && re.Code == ipcmesh.CodeRenamed && len(re.Suggestions) > 0 {
		to := re.Suggestions[0]
		use := chosenBy(how, to)
		return s, ipcmesh.Errorf(ipcmesh.CodeRenamed,
			"%s %s: %s was renamed to %s, and mail to %s is forwarded there; nothing was done. Act as %s (%s), or take %s back on purpose with 'ipcmesh register %s', which ends the forward",
			how, name, name, to, name, to, use, name, name)
	}
	return s, err
}

// chosenBy is how a command chooses to act as name, in the way how
// ("--as" or "IPC_NAME") chose the name it was given.
func chosenBy(how, name string) string {
	if how == "IPC_NAME" {
		return "IPC_NAME=" + name
	}
	return "--as " + name
}

// heldNear is what the refusal of a name this data folder holds no
// session for adds when it holds one for a name likely meant (Reviewer
// for reviewer, a typo), chosen by how ("--as" or "IPC_NAME"); ""
// otherwise. Names differ by case, and only the name's own session acts
// as it.
func heldNear(ctx context.Context, p *election.Peer, name, how string) string {
	all, err := p.List(ctx)
	if err != nil {
		return ""
	}
	names := make([]string, len(all))
	for i, in := range all {
		names[i] = in.Name
	}
	kr := auth.Keyring{Dir: p.DataDir()}
	for _, n := range ipcmesh.NearNames(name, names, 3) {
		if _, err := kr.Load(n); err != nil {
			continue
		}
		use := chosenBy(how, n)
		return fmt.Sprintf(": did you mean %s (%s)?", n, use)
	}
	return ""
}

// warnCaseTwin warns on stderr when name, just claimed for the command,
// differs only by case from another registered name: Reviewer and
// reviewer are two instances, and a command run as Reviewer meant for
// reviewer sends as, and reads the mail of, the wrong one. The name
// stays as chosen; the warning says how to choose the other.
func warnCaseTwin(ctx context.Context, e Env, p *election.Peer, name, how string) {
	if twin := p.CaseTwin(ctx, name); twin != "" {
		fmt.Fprintf(e.Stderr, "warning: %s %s acts as %s, not as %s: names differ by case; to act as %s, use %s\n", how, name, name, twin, twin, chosenBy(how, twin))
	}
}

// refuseSelf refuses a message from me to me. It lands in the sender's own
// inbox, to be read back as if a peer had sent it: almost always the
// command acts as another name than its user thinks (the default name
// another terminal registered last).
func (id *identity) refuseSelf(e Env, me, to string) error {
	if me == "" || to != me {
		return nil
	}
	why := fmt.Sprintf("%s is the name this data folder registered last (perhaps in another terminal), which commands act as when none is chosen", me)
	switch name, how := id.chosen(e); how {
	case "--as":
		why = fmt.Sprintf("--as %s acts as %s itself", name, name)
	case "IPC_NAME":
		why = fmt.Sprintf("IPC_NAME=%s makes this command act as %s itself", name, name)
	}
	return fmt.Errorf("this sends from %s to %s: %s. A message to yourself would only reach your own inbox, so nothing was sent; give each terminal its own name with --as NAME or IPC_NAME=NAME", me, me, why)
}

// meshCommand is the opening every command that acts on the mesh shares:
// its flags (with --as when it acts as a name), then open. A command
// declares its own flags on it before calling open.
type meshCommand struct {
	*flag.FlagSet
	id *identity // nil: the command acts as no name
	// cfg is the mesh's configuration, read by open before it calls the
	// check: a command that reads input knows its limits before it joins.
	cfg election.Config
	// literal is how many of the positionals, at their end, were typed
	// after "--": text, so that "send bob -- -" sends "-" rather than
	// reading stdin. open sets it before it calls the check.
	literal int
	// asksBroker marks a command that asks a broker that runs and needs
	// none of the settings only a broker reads (status): a bad one is no
	// error unless the command has to start a broker (PeerFromEnv), and
	// unused holds it for the command to warn of.
	asksBroker bool
	unused     error
}

// onMesh begins a command that joins the mesh without acting as a name,
// such as list, status or register.
func onMesh(name string) *meshCommand {
	return &meshCommand{FlagSet: flags(name)}
}

// asName begins a command that acts as a name (--as, IPC_NAME or the name
// registered last), as most do.
func asName(name string) *meshCommand {
	c := &meshCommand{FlagSet: flags(name), id: new(identity)}
	c.id.register(c.FlagSet)
	return c
}

// open parses args as parse does, lets check (when not nil) judge the
// positionals, then joins the mesh and acts as the command's name. The
// check comes first so that a command called wrongly (or asked for its
// help) says so without starting a broker. The caller closes the peer with
// closeAll.
func (c *meshCommand) open(ctx context.Context, e Env, args []string, check func(pos []string) error) (*election.Peer, []string, error) {
	pos, err := c.prepare(e, args, check)
	if err != nil {
		return nil, nil, err
	}
	p, err := election.Join(ctx, c.cfg)
	if err != nil {
		return nil, nil, err
	}
	if c.id != nil {
		if _, err := c.id.actAs(ctx, e, p); err != nil {
			p.Close()
			return nil, nil, err
		}
	}
	return p, pos, nil
}

// prepare is open up to the mesh: it parses args, reads the mesh's
// configuration into c.cfg and lets check judge the positionals.
func (c *meshCommand) prepare(e Env, args []string, check func(pos []string) error) ([]string, error) {
	pos, literal, err := parseLiteral(c.FlagSet, args)
	if err != nil {
		return nil, err
	}
	c.literal = literal
	if err := checkNames(c.FlagSet); err != nil {
		return nil, err
	}
	if c.asksBroker {
		var cfg election.Config
		if cfg, c.unused, err = election.PeerFromEnv(e.Getenv); err == nil {
			c.cfg, err = withLogging(e, cfg)
		}
	} else {
		c.cfg, err = meshConfig(e)
	}
	if err != nil {
		return nil, err
	}
	if check != nil {
		if err := check(pos); err != nil {
			return nil, err
		}
	}
	return pos, nil
}

// argCount is a check for open: at least least positionals and, unless
// most is negative, at most most; else the usage error msg.
func argCount(least, most int, msg string) func([]string) error {
	return func(pos []string) error {
		if len(pos) < least || most >= 0 && len(pos) > most {
			return &usageError{msg}
		}
		return nil
	}
}

// noArgs is a check for open: the command takes no positionals. A word it
// ignored could be a name its user meant it to act on while it acted on
// another.
func noArgs(cmd string) func([]string) error {
	return func(pos []string) error {
		if len(pos) > 0 {
			return usagef("%s takes no arguments, got %q", cmd, strings.Join(pos, " "))
		}
		return nil
	}
}

// noName is noArgs for a command that acts as a name: a word given is
// most likely the name it was meant to act as, and --as is how to say so.
// what is what the command does as that name, as in "read the mail of".
func noName(cmd, what string) func([]string) error {
	return func(pos []string) error {
		switch {
		case len(pos) == 0:
			return nil
		case len(pos) == 1 && ipcmesh.ValidateName(pos[0]) == nil:
			return usagef("%s takes no name: it acts as --as NAME, IPC_NAME or the data folder's default name; to %s %s: ipcmesh %s --as %s", cmd, what, pos[0], cmd, pos[0])
		}
		return usagef("%s takes no arguments, got %q: it acts as --as NAME, IPC_NAME or the data folder's default name", cmd, strings.Join(pos, " "))
	}
}

// closeAll closes p and keeps the first error.
func closeAll(p *election.Peer, err *error) {
	if cerr := p.Close(); cerr != nil && *err == nil && !errors.Is(cerr, election.ErrClosed) {
		*err = cerr
	}
}

// stdinDash reports whether the positionals from index from on are the one
// word "-" that stands for stdin: typed before any "--". After it, "-" is
// text like any other word, as `send bob -- "$msg"` must send whatever
// $msg holds.
func (c *meshCommand) stdinDash(pos []string, from int) bool {
	return len(pos) == from+1 && pos[from] == "-" && c.literal == 0
}

// nameFlags are the flags that take a name (or, reply-to, a message's
// id), and what leaving each out does.
var nameFlags = []struct{ name, without string }{
	{"as", "to act as IPC_NAME or the data folder's default name"},
	{"from", "for messages from anyone"},
	{"with", "and give --channel or --thread instead"},
	{"reply-to", "to start no thread"},
}

// checkNames refuses a name flag given an empty value, as
// `--as "$WHO"` gives it when WHO is unset: taken for a flag left out, it
// made a script act as the data folder's default name, read and mark
// read every message instead of one sender's, or send an answer outside
// the thread its asker waits on. A name that breaks the naming rule is
// refused too, before a broker is started only to refuse it.
func checkNames(fs *flag.FlagSet) error {
	for _, nf := range nameFlags {
		if f := fs.Lookup(nf.name); f != nil && isSet(fs, nf.name) && f.Value.String() == "" {
			return usagef("--%s was given an empty value (an unset variable?): give one, or leave --%s out %s", nf.name, nf.name, nf.without)
		}
	}
	for _, nf := range nameFlags {
		if f := fs.Lookup(nf.name); f != nil && isSet(fs, nf.name) && nf.name != "reply-to" {
			if err := ipcmesh.ValidateName(f.Value.String()); err != nil {
				return usagef("--%s: %v", nf.name, err)
			}
		}
	}
	return nil
}
