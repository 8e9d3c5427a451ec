package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/human"
	"github.com/ipcmesh/ipcmesh/internal/untrusted"

	"github.com/ipcmesh/ipcmesh"
)

// Shared data: content kept under a key for every instance to read, so a
// message can point at a key (send --shared KEY) instead of carrying bulk.

func runShare(ctx context.Context, e Env, args []string) (err error) {
	c := asName("share")
	description := c.String("description", "", "`D`, what the content is")
	asJSON := c.Bool("json", false, "print the result as JSON")
	var content []byte
	p, pos, err := c.open(ctx, e, args, func(pos []string) (err error) {
		content, err = shareContent(e, pos, c.cfg.MessageLimit())
		return err
	})
	if err != nil {
		return joinInterrupted(ctx, err, "nothing was shared")
	}
	defer closeAll(p, &err)
	sh, err := p.Share(ctx, pos[0], string(content), *description)
	what := fmt.Sprintf("the content for %q", pos[0])
	if interrupted(ctx, err) {
		return interruptedOnItsWay(err, what, shareAgain(pos[0]), "nothing was shared")
	}
	if unsettled(err) {
		return unanswered(err, what, shareAgain(pos[0]))
	}
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(e.Stdout, sh)
	}
	fmt.Fprintf(e.Stdout, "shared %s (%s); read it with: ipcmesh get %s; point at it with: ipcmesh send --shared %s TO MESSAGE\n", sh.Key, human.Size(sh.Size), sh.Key, sh.Key)
	return nil
}

// shareAgain says how to make sure of a share under key whose fate is
// unknown. A share replaces what its key holds: run again, it leaves the
// content stored once, whatever the first run did.
func shareAgain(key string) string {
	return fmt.Sprintf("to be sure it is stored, run the same command again: a share replaces what the key holds (ipcmesh get %s shows what it holds now)", key)
}

// shareContent checks the positionals of share (KEY [FILE|-]) and reads
// the content they name, the file or stdin, refusing it past limit bytes
// without reading the rest.
func shareContent(e Env, pos []string, limit int) ([]byte, error) {
	if len(pos) < 1 || len(pos) > 2 {
		return nil, usagef("share needs a key, then a file ('-' or none: stdin)")
	}
	if err := ipcmesh.ValidateSharedKey(pos[0]); err != nil {
		return nil, usagef("%v", err)
	}
	in := e.Stdin
	if len(pos) == 2 && pos[1] != "-" {
		f, err := os.Open(pos[1])
		if err != nil {
			return nil, fmt.Errorf("%w: give the path of a file to share, or '-' to read stdin; nothing was shared", err)
		}
		defer f.Close()
		if fi, err := f.Stat(); err == nil && fi.IsDir() {
			// Read, a folder fails with "read DIR: is a directory",
			// which names no way out.
			return nil, fmt.Errorf("%s is a folder: share a file (tar or zip a folder, then base64 it), or '-' to read stdin; nothing was shared", pos[1])
		}
		in = f
	}
	if len(pos) < 2 || pos[1] == "-" {
		tellTerminalInput(e, fmt.Sprintf("what to share under %q", pos[0]))
	}
	content, over, err := readAtMost(in, limit)
	if err != nil {
		return nil, fmt.Errorf("read what to share under %q: %w; nothing was shared", pos[0], err)
	}
	if over {
		return nil, ipcmesh.Errorf(ipcmesh.CodeTooLarge, "the content for %q is over the limit of %d bytes (IPC_MAX_MESSAGE_BYTES): shorten it or split it over several keys; nothing was shared", pos[0], limit)
	}
	return content, nil
}

// runGet prints the content under a key, as it was stored (no newline is
// added), so that ipcmesh get KEY > file gives the file back.
func runGet(ctx context.Context, e Env, args []string) (err error) {
	c := asName("get")
	asJSON := c.Bool("json", false, "print the entry, content included, as JSON")
	p, pos, err := c.open(ctx, e, args, func(pos []string) error {
		if err := argCount(1, 1, "get needs one key (ipcmesh shared lists them)")(pos); err != nil {
			return err
		}
		if err := ipcmesh.ValidateSharedKey(pos[0]); err != nil {
			return usagef("%v", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	defer closeAll(p, &err)
	sh, err := p.GetShared(ctx, pos[0])
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(e.Stdout, sh)
	}
	_, err = io.WriteString(e.Stdout, forTerminal(e.Stdout, sh.Content))
	return err
}

func runShared(ctx context.Context, e Env, args []string) (err error) {
	c := asName("shared")
	asJSON := c.Bool("json", false, "print the keys as JSON")
	p, _, err := c.open(ctx, e, args, argCount(0, 0, "shared takes no arguments; to read one: ipcmesh get KEY"))
	if err != nil {
		return err
	}
	defer closeAll(p, &err)
	list, err := p.ListShared(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		if list == nil {
			list = []ipcmesh.Shared{}
		}
		return printJSON(e.Stdout, list)
	}
	if len(list) == 0 {
		fmt.Fprintln(e.Stdout, "Nothing shared yet: ipcmesh share KEY FILE")
		return nil
	}
	now := time.Now()
	tw := tabwriter.NewWriter(e.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tSIZE\tSTORED BY\tWHEN\tDESCRIPTION")
	for _, sh := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", sh.Key, human.Size(sh.Size), sh.StoredBy, human.Ago(sh.Time, now), untrusted.Line(sh.Description))
	}
	return tw.Flush()
}
