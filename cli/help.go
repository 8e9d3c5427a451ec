package cli

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/ipcmesh/ipcmesh"
)

// usage lists the commands: ipcmesh help, ipcmesh --help.
func usage(w io.Writer) {
	fmt.Fprintf(w, "ipcmesh %s: a message mesh for AI assistants, on one machine or across several (cluster mode)\n\nusage: ipcmesh COMMAND [ARGS]\n       ipcmesh help COMMAND (or ipcmesh COMMAND --help): its flags and an example\n\ncommands:\n", Version)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-11s %s\n", c.name, c.summary)
		if c.args != "" {
			fmt.Fprintf(w, "  %-11s   ipcmesh %s %s\n", "", c.name, c.args)
		}
	}
	fmt.Fprint(w, `
flags go anywhere before a "--"; what follows "--" is taken as it is, so
ipcmesh send bob -- --force sends the text "--force".

identity: --as NAME or IPC_NAME picks the name a command acts as; otherwise
the name registered last from the data folder.

environment: IPC_HOST, IPC_PORT (mesh address, 127.0.0.1:9876), IPC_DATA_DIR
(~/.ipcmesh), IPC_SHARED_SECRET, IPC_NAME, IPC_LOG; see the README for all.
`)
}

// printHelp is a command's answer to --help: its usage line, what it does,
// its flags (those of h, when the command parsed any) and an example, with
// the command as the user typed it.
func printHelp(e Env, c command, h *helpRequest) {
	w := e.Stdout
	fmt.Fprintf(w, "usage: %s\n\n%s.\n", strings.TrimSpace(e.typed(c.name)+" "+c.args), c.summary)
	if h != nil {
		printFlags(w, h.fs)
	}
	fmt.Fprintf(w, "\nexample:\n  %s\n", e.asTyped(c.name, c.example))
}

// printFlags lists the flags of fs, as they are typed (--name VALUE), each
// with its usage and its default when it has one worth saying.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	type row struct{ flag, usage string }
	var rows []row
	width := 0
	fs.VisitAll(func(f *flag.Flag) {
		value, usage := flag.UnquoteUsage(f)
		if value == "value" {
			value = "" // a flag of its own type, such as a duration made to explain itself
			switch f.Value.(type) {
			case *durationFlag:
				value = "DURATION"
			case *numberFlag:
				value = "N"
			}
		}
		r := row{flag: "--" + f.Name, usage: usage}
		if value != "" {
			r.flag += " " + value
		}
		switch f.DefValue {
		case "", "false", "0", "0s":
		default:
			r.usage += fmt.Sprintf(" (default %s)", f.DefValue)
		}
		width = max(width, len(r.flag))
		rows = append(rows, r)
	})
	if len(rows) == 0 {
		return
	}
	fmt.Fprintln(w, "\nflags (anywhere before a \"--\"; what follows \"--\" is taken as it is):")
	for _, r := range rows {
		fmt.Fprintf(w, "  %-*s  %s\n", width, r.flag, r.usage)
	}
}

// closestCommand is the command most likely meant by name, "" if none is
// close.
func closestCommand(name string) string {
	cmds := commands()
	// help is handled before the command list is looked up, so it is
	// no entry of it, but "hlep" meant it as surely as "sned" meant send.
	names := make([]string, 0, len(cmds)+1)
	for _, c := range cmds {
		names = append(names, c.name)
	}
	names = append(names, "help")
	return ipcmesh.Closest(name, names)
}

// unknownCommand is the error for a command name that is none, with the
// command most likely meant.
func unknownCommand(name string) string {
	if name == "-v" || name == "-V" {
		// What other programs print for -v; here it is --version.
		return fmt.Sprintf("%q is no flag of ipcmesh: ipcmesh --version (or ipcmesh version) prints the version, and ipcmesh help lists the commands", name)
	}
	if strings.HasPrefix(name, "-") {
		return fmt.Sprintf("%q is a flag, and no command was named: give one, its flags before or after it (ipcmesh help lists the commands)", name)
	}
	msg := fmt.Sprintf("unknown command %q", name)
	if near := closestCommand(name); near != "" {
		msg += fmt.Sprintf(": did you mean %s?", near)
	}
	return msg + " (ipcmesh help lists the commands)"
}
