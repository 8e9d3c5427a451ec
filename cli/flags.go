package cli

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ipcmesh/ipcmesh"
)

// flags returns a FlagSet for a command that reports errors as usage errors
// instead of exiting. Its name is the command's, as "ipcmesh NAME --help"
// runs it.
func flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parse parses args with fs. Flags may come anywhere before a "--", between
// positionals too (ipcmesh send bob hi --type request), and whatever
// follows a "--" is taken as it is (ipcmesh send bob -- --type is text). A
// word that looks like a flag but is none of fs's is refused rather than
// taken for text: a mistyped flag must not quietly become a message.
// -h or --help is a helpRequest, which Run answers with the command's help.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	pos, _, err := parseLiteral(fs, args)
	return pos, err
}

// parseLiteral is parse that also says how many of the positionals, at
// their end, came after the "--": text as it is, so that a "-" there is
// the word "-", never stdin.
func parseLiteral(fs *flag.FlagSet, args []string) (pos []string, literal int, err error) {
	explainValues(fs)
	args, after, err := splitFlags(fs, args)
	if err != nil {
		return nil, 0, err
	}
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, 0, &helpRequest{fs}
			}
			if refused := refusedValue(fs); refused != nil {
				return nil, 0, usagef("%v", refused)
			}
			return nil, 0, usagef("%v", err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return append(pos, after...), len(after), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// splitFlags reads args as fs will parse them and returns those before the
// "--" that ends the flags and those after it. The value of a flag that
// takes one is skipped, so "--description --" is a description. A word
// that begins with '-' and names no flag of fs is an error that names the
// flag likely meant and, for a command that takes text, says how to pass
// the word as text; where the word stands for a name (namePlace), it says
// that no new name begins with '-'. A flag that takes a value but ends the line is an
// error that says what value it takes: the flag package's own words for
// it name the flag with one dash and the value not at all.
func splitFlags(fs *flag.FlagSet, args []string) (before, after []string, err error) {
	positionals := 0 // before args[i]
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return args[:i], args[i+1:], nil
		}
		if len(a) < 2 || a[0] != '-' {
			positionals++ // a positional, or "-" for stdin
			continue
		}
		name, _, hasValue := strings.Cut(strings.TrimPrefix(a[1:], "-"), "=")
		f := fs.Lookup(name)
		switch {
		case f == nil && (name == "h" || name == "help"):
			// flag.ErrHelp, from Parse
		case f == nil:
			atName, given := namePlace(fs.Name(), positionals, countPositionals(fs, args[i+1:]))
			return nil, nil, unknownFlag(fs, args, i, name, atName, given)
		case !hasValue && !isBoolFlag(f) && i+1 == len(args):
			value, usage := flag.UnquoteUsage(f)
			return nil, nil, usagef("--%s needs a value: --%s %s, %s", f.Name, f.Name, value, usage)
		case !hasValue && !isBoolFlag(f):
			i++ // the flag's value, whatever it looks like
		}
	}
	return args, nil, nil
}

// unknownFlag words the word args[i], which looks like the flag name but
// is none of fs's: with the flag most likely meant ("--limt" for
// --limit), and, where the command's words are text someone writes, with
// the "--" that sends the word as it is. For a command that takes no text,
// that way out would only mislead. A word where a name goes (atName) is
// read as that name with a slipped dash, unless the words after it give
// the name: then only a word of a name's shape and none of a flag's
// (slippedDash) is offered that reading, as one of two.
func unknownFlag(fs *flag.FlagSet, args []string, i int, name string, atName, nameGiven bool) error {
	a := args[i]
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	msg := fmt.Sprintf("%s is not a flag of %s", a, fs.Name())
	near := ipcmesh.Closest(name, names)
	if near != "" {
		msg += fmt.Sprintf(": did you mean --%s?", near)
	}
	msg += fmt.Sprintf(" (ipcmesh %s --help lists them)", fs.Name())
	isName := atName && !nameGiven
	switch {
	case atName && near == "" && flagElsewhere(fs.Name(), name) != "":
		// A flag of other commands (or of ipcmesh before one), carried
		// over: read as a name with a slipped dash, it would be answered
		// with "did you mean version?".
		msg += "; " + flagElsewhere(fs.Name(), name)
	case atName && nameGiven && near == "" && takesText(fs.Name()) && slippedDash(a):
		// send -reviewer hello there: the words after it would give the
		// recipient and the message, so the word may be a flag mistyped
		// (send -bogus reviewer hi) as well as the recipient with a dash
		// slipped onto it. Both readings are left to the user, the
		// second with the command it means.
		msg += fmt.Sprintf("; if you meant the recipient %s, leave out the dash that makes it look like a flag: %s", name, withoutDash(fs.Name(), args, i))
	case atName && nameGiven:
		// Before the name no text goes, and the name is there: the word
		// is a flag mistyped, which the list of flags answers.
	case isName && near == "":
		// After "--" it would be taken as a name, which the mesh
		// refuses as a new one: the dash is most likely a slip.
		msg += "; no new name may begin with '-'"
		if ipcmesh.ValidateNewName(name) == nil {
			msg += fmt.Sprintf(": did you mean %s?", name)
		}
	case takesText(fs.Name()):
		msg += fmt.Sprintf("; to pass it as text, put it after \"--\", as in: ipcmesh %s ... -- %s", fs.Name(), a)
	}
	return usagef("%s", msg)
}

// slippedDash reports whether a, a word that names no flag, may be a name
// with a dash slipped before it: one dash, then a name that could be made
// (ipcmesh.ValidateNewName) of two characters or more, the first a letter.
// Two dashes, a single letter (-x) or an '=' are a flag's shape.
func slippedDash(a string) bool {
	name, ok := strings.CutPrefix(a, "-")
	if !ok || len(name) < 2 || ipcmesh.ValidateNewName(name) != nil {
		return false
	}
	c := name[0]
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// withoutDash is the command line cmd args with the dash before args[i]
// left out, as a user would type it again. A word the shell would need
// quoted (a message given as one word, say) is quoted differently by each
// shell: then only the name is given, the other words left as typed.
func withoutDash(cmd string, args []string, i int) string {
	fixed := slices.Clone(args)
	fixed[i] = args[i][1:]
	for _, w := range fixed {
		if shellQuote(w) != w {
			return fmt.Sprintf("ipcmesh %s %s ... (the other words as you typed them)", cmd, fixed[i])
		}
	}
	return "ipcmesh " + cmd + " " + strings.Join(fixed, " ")
}

// flagElsewhere says where the flag name, which the command cmd lacks,
// belongs, for a flag that other commands take, or "" for any other.
func flagElsewhere(cmd, name string) string {
	switch name {
	case "version":
		return "ipcmesh version prints the version"
	case "as":
		return fmt.Sprintf("%s takes the name itself: ipcmesh %s NAME", cmd, cmd)
	}
	return ""
}

// namePlace reports whether a word at the place of the positional at
// index i of the command cmd, with rest positionals after it, stands where
// a name goes (register NAME, rename NEW, send TO), and whether the words
// after it give the name and all else the command needs: then the name is
// one of them (send --bogus reviewer hi) and the word is no name with a
// slipped dash.
func namePlace(cmd string, i, rest int) (atName, given bool) {
	need := 0 // positionals the command needs, the name first
	switch cmd {
	case "register", "rename":
		need = 1
	case "send":
		need = 2 // TO MESSAGE
	}
	return i == 0 && need > 0, rest >= need
}

// countPositionals counts the positionals among args as splitFlags reads
// them: the value of a flag of fs is none, and every word after a "--" is
// one. A word that names no flag of fs is taken for a flag.
func countPositionals(fs *flag.FlagSet, args []string) int {
	n := 0
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return n + len(args) - i - 1
		}
		if len(a) < 2 || a[0] != '-' {
			n++
			continue
		}
		name, _, hasValue := strings.Cut(strings.TrimPrefix(a[1:], "-"), "=")
		if f := fs.Lookup(name); f != nil && !hasValue && !isBoolFlag(f) {
			i++ // the flag's value
		}
	}
	return n
}

// takesText reports whether the command cmd takes words that are text
// someone writes (a message, a status line, words to find), any of which
// may begin with '-'.
func takesText(cmd string) bool {
	switch cmd {
	case "send", "broadcast", "set-status", "search", "channels":
		return true
	}
	return false
}

// isSet reports whether the flag name was given, its default value too:
// --description "" clears what leaving the flag out keeps.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// helpRequest is parse's answer to -h or --help: Run prints the command's
// usage with the flags of fs. It is flag.ErrHelp to errors.Is.
type helpRequest struct{ fs *flag.FlagSet }

func (h *helpRequest) Error() string        { return flag.ErrHelp.Error() }
func (h *helpRequest) Is(target error) bool { return target == flag.ErrHelp }

// explainValues makes the duration and number flags of fs say what they
// take when given something else: the flag package's own word is "parse
// error", which leaves "--wait 5" or "--limit ten" a riddle.
func explainValues(fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		switch f.Value.(type) {
		case *durationFlag, *numberFlag:
			return
		}
		g, ok := f.Value.(flag.Getter)
		if !ok {
			return
		}
		switch g.Get().(type) {
		case time.Duration:
			f.Value = &durationFlag{Getter: g, name: f.Name}
		case int, int64:
			f.Value = &numberFlag{Getter: g, takes: fmt.Sprintf("--%s takes a whole number", f.Name)}
		case uint, uint64:
			f.Value = &numberFlag{Getter: g, takes: fmt.Sprintf("--%s takes a whole number, 0 or more", f.Name)}
		}
	})
}

// refusedValue is the error of the flag of fs whose value was refused,
// in our words alone: the flag package puts its own before them
// ("invalid value \"ten\" for flag -limit: ..."), naming the flag a second
// time, with one dash.
func refusedValue(fs *flag.FlagSet) error {
	var refused error
	fs.VisitAll(func(f *flag.Flag) {
		switch v := f.Value.(type) {
		case *numberFlag:
			refused = cmp.Or(refused, v.refused)
		case *durationFlag:
			refused = cmp.Or(refused, v.refused)
		}
	})
	return refused
}

// numberFlag is a whole-number flag whose error says so.
type numberFlag struct {
	flag.Getter
	takes   string
	refused error // the error of the value Set refused
}

func (n *numberFlag) Set(s string) error {
	if err := n.Getter.Set(s); err != nil {
		n.refused = fmt.Errorf("%s, not %q", n.takes, s)
		return n.refused
	}
	return nil
}

// String is safe on the zero numberFlag, as durationFlag's is.
func (n *numberFlag) String() string {
	if n.Getter == nil {
		return "0"
	}
	return n.Getter.String()
}

// durationFlag is a duration flag whose error names the form it takes.
type durationFlag struct {
	flag.Getter
	name    string
	refused error // the error of the value Set refused
}

func (d *durationFlag) Set(s string) error {
	if err := d.Getter.Set(s); err == nil {
		return nil
	}
	msg := fmt.Sprintf("--%s takes a duration like 5s, 2m or 1h30m, not %q", d.name, s)
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		msg += fmt.Sprintf(" (for %s seconds: %ss)", s, s)
	}
	d.refused = errors.New(msg)
	return d.refused
}

// String is safe on the zero durationFlag, which the flag package makes to
// tell a default from a zero value.
func (d *durationFlag) String() string {
	if d.Getter == nil {
		return time.Duration(0).String()
	}
	return d.Getter.String()
}

// checkWait refuses a negative --wait, naming it: the flag package reads
// "-5s" as a duration, and a wait cannot run backwards.
func checkWait(d time.Duration) error {
	if d < 0 {
		return usagef("--wait %v: a wait cannot be negative: give one such as 30s, or leave it out", d)
	}
	return nil
}
