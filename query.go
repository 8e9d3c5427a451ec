package ipcmesh

import (
	"fmt"
	"strings"
)

// queryFields maps the field prefixes of other search syntaxes to the
// filter of the mesh's search that does their work.
var queryFields = map[string]string{
	"from": "from", "channel": "channel", "in": "channel",
	"since": "since", "after": "since", "until": "until", "before": "until",
}

// ExplainQuery says how the mesh's search takes the words of query that
// look like the operators of other search syntaxes, and is "" when it has
// none. Search has no operators: a message matches when it holds every
// word, so "token -login" finds the messages that hold both words, and
// one who wrote it would otherwise take them for the messages without
// login. A word that stands for a filter ("from:bob", "#dev") is answered
// with the filter, as the face that asks gives one: filter writes it
// (`from "bob"` for a tool's argument, `--from bob` for a flag).
func ExplainQuery(query string, filter func(name, value string) string) string {
	var parts []string
	quoted := false
	for _, f := range strings.Fields(query) {
		if strings.Contains(f, `"`) {
			quoted = true
			f = strings.Trim(f, `"`)
		}
		name, value, isField := strings.Cut(f, ":")
		switch field := queryFields[strings.ToLower(name)]; {
		case f == "OR" || f == "AND" || f == "NOT":
			parts = append(parts, fmt.Sprintf("%s is the word %q, required like the others", f, strings.ToLower(f)))
		case len(f) > 1 && f[0] == '-':
			parts = append(parts, fmt.Sprintf("%s requires %q, it does not exclude it", f, f[1:]))
		case len(f) > 1 && f[0] == '#':
			parts = append(parts, fmt.Sprintf("for %s give %s", f, filter("channel", f[1:])))
		case isField && field != "" && value != "":
			parts = append(parts, fmt.Sprintf("for %s give %s", f, filter(field, value)))
		case len(f) > 1 && strings.HasSuffix(f, "*"):
			parts = append(parts, fmt.Sprintf("%s finds the whole word %q only, no longer ones", f, strings.TrimRight(f, "*")))
		}
	}
	if quoted {
		parts = append(parts, "quotes make no phrase: each word may be anywhere in the message")
	}
	if len(parts) == 0 {
		return ""
	}
	return "search takes no operators: a message matches when it holds every word; " + strings.Join(parts, "; ")
}
