package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/human"

	"github.com/ipcmesh/ipcmesh"
)

// Shared data: content kept under a key for every instance to read, so a
// message can point at a key (send --shared KEY) instead of carrying bulk.

func runShare(ctx context.Context, e Env, args []string) (err error) {
	fs := flags("share")
	var id identity
	id.register(fs)
	description := fs.String("description", "", "what the content is")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	pos, err := parse(fs, args, -1)
	if err != nil {
		return err
	}
	if len(pos) < 1 || len(pos) > 2 {
		return usagef("share needs a key, then a file ('-' or none: stdin)")
	}
	key := pos[0]
	if err := ipcmesh.ValidateSharedKey(key); err != nil {
		return usagef("%v", err)
	}
	cfg, err := meshConfig(e)
	if err != nil {
		return err
	}
	limit := messageLimit(cfg)
	content, over, err := readContent(e.Stdin, pos[1:], limit)
	if err != nil {
		return fmt.Errorf("read the content: %w", err)
	}
	if over {
		return ipcmesh.Errorf(ipcmesh.CodeTooLarge, "the content for %q is over the limit of %d bytes (IPC_MAX_MESSAGE_BYTES): shorten it or split it over several keys; nothing was shared", key, limit)
	}
	p, err := id.sessionWith(ctx, e, cfg)
	if err != nil {
		return err
	}
	defer closeAll(p, &err)
	sh, err := p.Share(ctx, key, string(content), *description)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(e.Stdout, sh)
	}
	fmt.Fprintf(e.Stdout, "shared %s (%s); read it with: ipcmesh get %s; point at it with: ipcmesh send --shared %s TO MESSAGE\n", sh.Key, human.Size(sh.Size), sh.Key, sh.Key)
	return nil
}

// readContent reads what share is to store: the file named in args, or
// stdin when there is none or it is "-", at most limit bytes of it.
func readContent(stdin io.Reader, args []string, limit int) (b []byte, over bool, err error) {
	if len(args) == 0 || args[0] == "-" {
		return readAtMost(stdin, limit)
	}
	f, err := os.Open(args[0])
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	return readAtMost(f, limit)
}

// runGet prints the content under a key, as it was stored (no newline is
// added), so that ipcmesh get KEY > file gives the file back.
func runGet(ctx context.Context, e Env, args []string) (err error) {
	fs := flags("get")
	var id identity
	id.register(fs)
	asJSON := fs.Bool("json", false, "print the entry, content included, as JSON")
	pos, err := parse(fs, args, -1)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("get needs one key (ipcmesh shared lists them)")
	}
	p, err := id.session(ctx, e, false, nil)
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
	_, err = io.WriteString(e.Stdout, sh.Content)
	return err
}

func runShared(ctx context.Context, e Env, args []string) (err error) {
	fs := flags("shared")
	var id identity
	id.register(fs)
	asJSON := fs.Bool("json", false, "print the keys as JSON")
	pos, err := parse(fs, args, -1)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("shared takes no arguments; to read one: ipcmesh get KEY")
	}
	p, err := id.session(ctx, e, false, nil)
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
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", sh.Key, human.Size(sh.Size), sh.StoredBy, human.Ago(sh.Time, now), sh.Description)
	}
	return tw.Flush()
}
