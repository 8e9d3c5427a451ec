package cli

import (
	"flag"
	"strings"
	"testing"
)

// FuzzParse feeds parse the words of a command line, one a line, with the
// flags send has. Whatever it is given, it must not panic, and a word that
// looks like a flag never becomes text unless it follows "--": a mistyped
// flag must not be sent as a message.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"reviewer\nhi\n--type\nrequest",
		"reviewer\n--\nhi\n--type\nrequest",
		"--type\n--\nreviewer\nhi",
		"reviewer\nhi\n--force",
		"--wait=5\nx",
		"reviewer\n-\n--lines",
		"-h",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, line string) {
		args := strings.Split(line, "\n")
		pos, err := parse(sendLike(), args)
		if err != nil {
			return
		}
		literal := false
		for _, a := range args {
			literal = literal || a == "--"
		}
		if literal {
			return // a flag value of "--" or the end of the flags: either may be right
		}
		for _, p := range pos {
			if len(p) > 1 && p[0] == '-' {
				t.Fatalf("parse(%q) took %q, which looks like a flag, as text", args, p)
			}
		}
	})
}

// sendLike is a FlagSet with flags of each kind send and check take.
func sendLike() *flag.FlagSet {
	fs := flags("send")
	fs.String("type", "", "")
	fs.String("as", "", "")
	fs.Bool("lines", false, "")
	fs.Duration("wait", 0, "")
	return fs
}
