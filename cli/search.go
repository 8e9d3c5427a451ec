package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/internal/human"
	"github.com/ipcmesh/ipcmesh/ipc"
	"github.com/ipcmesh/ipcmesh/store"
)

// runSearch finds the messages this instance may read (its direct mail,
// sent or received, and its channels) that hold every word given.
func runSearch(ctx context.Context, e Env, args []string) (err error) {
	c := asName("search")
	var req ipc.SearchRequest
	c.StringVar(&req.From, "from", "", "only messages from `NAME`")
	c.StringVar(&req.Channel, "channel", "", "only posts to the channel `C`")
	since := c.String("since", "", "only messages since `WHEN`: a duration back (24h, 7d) or a date (2026-01-02 is its midnight, local time; or RFC 3339)")
	until := c.String("until", "", "only messages until `WHEN` (as --since)")
	c.IntVar(&req.Limit, "limit", 0, fmt.Sprintf("at most `N` messages (default %d, max %d)", store.DefaultSearchLimit, store.MaxSearchLimit))
	c.Uint64Var(&req.Before, "before", 0, "only messages older than the one with seq `SEQ`: the last seq of the page before")
	asJSON := c.Bool("json", false, "print the messages as JSON")
	p, _, err := c.open(ctx, e, args, func(pos []string) (err error) {
		if len(pos) == 0 && req.From == "" && req.Channel == "" && *since == "" && *until == "" {
			return usagef("search needs words to look for, or a filter (--from, --channel, --since, --until)")
		}
		// 0 is the flag left out; typed, it would print the default
		// number of messages after all.
		if req.Limit < 0 || req.Limit > store.MaxSearchLimit || req.Limit == 0 && isSet(c.FlagSet, "limit") {
			return usagef("--limit %d: want 1 to %d, or leave it out for %d", req.Limit, store.MaxSearchLimit, store.DefaultSearchLimit)
		}
		req.Query = strings.Join(pos, " ")
		if req.Since, req.Until, err = human.ParseWindow(*since, *until, "--", time.Now()); err != nil {
			return usagef("%v", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	defer closeAll(p, &err)
	r, err := p.Search(ctx, req)
	if err != nil {
		return err
	}
	var unknown string
	if len(r.Messages) == 0 && req.From != "" && !*asJSON {
		unknown = noSuchInstance(ctx, p, req.From)
	}
	if err := printFound(e, req.Query, r.Messages, *asJSON, unknown); err != nil {
		return err
	}
	// On stderr, as the list is what a script reads from stdout, as text
	// or as JSON; and after it, where a terminal shows it last.
	if note := ipcmesh.ExplainQuery(req.Query, func(name, value string) string { return "--" + name + " " + value }); note != "" {
		fmt.Fprintf(e.Stderr, "%s\n", note)
	}
	if r.More {
		// On stderr, as the list is what a script reads from stdout, as
		// text or as JSON.
		fmt.Fprintf(e.Stderr, "older messages match too: add --before %d for the next page\n", r.Messages[len(r.Messages)-1].Seq)
	}
	return nil
}

// printFound prints the messages a search for query found; when none,
// with unknown after, which says the --from name is none.
func printFound(e Env, query string, msgs []ipcmesh.Message, asJSON bool, unknown string) error {
	if asJSON {
		if msgs == nil {
			msgs = []ipcmesh.Message{}
		}
		return printJSON(e.Stdout, msgs)
	}
	w := &errWriter{w: e.Stdout}
	if len(msgs) == 0 {
		if query == "" {
			fmt.Fprintf(w, "No message you may read matches these filters.%s\n", unknown)
		} else {
			fmt.Fprintf(w, "No message you may read matches %q.%s\n", query, unknown)
		}
		return w.err
	}
	for _, m := range msgs {
		printMessage(w, m, true)
	}
	return w.err
}
