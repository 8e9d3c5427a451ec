package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/human"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/ipc"
)

// runSearch finds the messages this instance may read (its direct mail,
// sent or received, and its channels) that hold every word given.
func runSearch(ctx context.Context, e Env, args []string) (err error) {
	c := asName("search")
	var req ipc.SearchRequest
	c.StringVar(&req.From, "from", "", "only messages from `NAME`")
	c.StringVar(&req.Channel, "channel", "", "only posts to the channel `C`")
	since := c.String("since", "", "only messages since `WHEN`: a duration back (24h, 7d) or a date (2026-01-02, RFC 3339)")
	until := c.String("until", "", "only messages until `WHEN` (as --since)")
	c.IntVar(&req.Limit, "limit", 0, "at most `N` messages (default 20, max 100)")
	asJSON := c.Bool("json", false, "print the messages as JSON")
	p, _, err := c.open(ctx, e, args, func(pos []string) (err error) {
		if len(pos) == 0 {
			return usagef("search needs words to look for")
		}
		req.Query = strings.Join(pos, " ")
		now := time.Now()
		if *since != "" {
			if req.Since, err = human.ParseWhen(*since, now); err != nil {
				return usagef("--since: %v", err)
			}
		}
		if *until != "" {
			if req.Until, err = human.ParseWhen(*until, now); err != nil {
				return usagef("--until: %v", err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	defer closeAll(p, &err)
	msgs, err := p.Search(ctx, req)
	if err != nil {
		return err
	}
	if *asJSON {
		if msgs == nil {
			msgs = []ipcmesh.Message{}
		}
		return printJSON(e.Stdout, msgs)
	}
	w := &errWriter{w: e.Stdout}
	if len(msgs) == 0 {
		fmt.Fprintf(w, "No message you may read matches %q.\n", req.Query)
		return w.err
	}
	for _, m := range msgs {
		printMessage(w, m, true)
	}
	return w.err
}
