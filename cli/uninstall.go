package cli

import (
	"context"
	"fmt"
	"path/filepath"
)

// runUninstall takes out of a client's config exactly what install put in
// it: ipcmesh's MCP server entry and its hook handlers. Everything else,
// comments included, stays; containers left empty by the removal (an
// event's list of hooks, "hooks", "mcpServers") go too.
func runUninstall(ctx context.Context, e Env, args []string) error {
	fs := flags("uninstall")
	scope, dryRun := clientFlags(fs)
	client, err := oneClient(fs, args)
	if err != nil {
		return err
	}
	// This binary's path lets its own hooks be found under any file name;
	// without it, hooks run by a binary called ipcmesh still are.
	in := installer{hooks: true, remove: true, getenv: e.Getenv}
	if exe := e.Self; exe != "" {
		if abs, err := filepath.Abs(exe); err == nil {
			in.exe = abs
		}
	}
	w := &errWriter{w: e.Stdout}
	changed, err := in.apply(w, client, *scope, *dryRun)
	if err != nil {
		return err
	}
	outcome(w, changed, *dryRun, fmt.Sprintf("ipcmesh is not installed for %s (%s scope): nothing changed.", client, *scope), clientTitle[client])
	return w.err
}

// removeServer takes ipcmesh's entry out of mcpServers.
func removeServer(doc *object) []string {
	v, _ := doc.get("mcpServers")
	servers, ok := v.(*object)
	if !ok {
		return nil
	}
	entry, ok := servers.get(serverKey)
	if !ok {
		return nil
	}
	servers.remove(serverKey)
	changes := []string{fmt.Sprintf("- mcpServers.%s: %s", serverKey, compactJSON(entry))}
	return append(changes, removeIfEmpty(doc, "mcpServers")...)
}

// removeHooks takes every ipcmesh hook handler out of doc's "hooks", of
// whatever event (an older install may have used others), with the
// groups and events left without a handler.
func (in installer) removeHooks(doc *object) []string {
	v, _ := doc.get("hooks")
	hooks, ok := v.(*object)
	if !ok {
		return nil
	}
	var changes []string
	for _, event := range append([]string(nil), hooks.keys...) {
		groups, ok := asArray(hooks.vals[event])
		if !ok {
			continue
		}
		removed := false
		for gi := len(groups.items) - 1; gi >= 0; gi-- {
			group, list := hookList(groups.items[gi])
			if list == nil {
				continue
			}
			n := len(list.items)
			for hi := n - 1; hi >= 0; hi-- {
				handler, _ := list.items[hi].(*object)
				if handler == nil {
					continue
				}
				cmd, _ := handler.get("command")
				s, _ := cmd.(string)
				if in.ownHook(s, "check") || in.ownHook(s, "wait") {
					list.remove(hi)
					changes = append(changes, fmt.Sprintf("- hooks.%s: %s", event, s))
				}
			}
			if len(list.items) == n {
				continue
			}
			removed = true
			group.set("hooks", list)
			if len(list.items) == 0 && onlyMatcher(group) {
				groups.remove(gi)
			}
		}
		if removed {
			hooks.set(event, groups)
			if len(groups.items) == 0 && len(groups.tail) == 0 {
				hooks.remove(event)
			}
		}
	}
	if len(changes) > 0 {
		changes = append(changes, removeIfEmpty(doc, "hooks")...)
	}
	return changes
}

// onlyMatcher reports whether a hook group holds nothing but its matcher
// and its list of hooks: install's own group, to be removed whole once
// its hooks are gone. A group with more of the user's fields stays.
func onlyMatcher(group *object) bool {
	for _, k := range group.keys {
		if k != "matcher" && k != "hooks" {
			return false
		}
	}
	return true
}

// removeIfEmpty removes doc's object under k when nothing is left in it,
// not even a comment.
func removeIfEmpty(doc *object, k string) []string {
	v, _ := doc.get(k)
	o, ok := v.(*object)
	if !ok || len(o.keys) > 0 || len(o.tail) > 0 {
		return nil
	}
	doc.remove(k)
	return []string{fmt.Sprintf("- %s (left empty)", k)}
}
