package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/ipcmesh/ipcmesh/internal/atomicfile"
)

// configEdit is one config file and what to merge into it (or, for
// uninstall, take out of it).
type configEdit struct {
	path string
	// shared files (project scope) are created readable by all, like the
	// rest of a project; a user's own are created private.
	shared bool
	// comments: the client reads the file as JSON with comments (Gemini
	// CLI), so install does too, and keeps them.
	comments bool
	merge    func(doc *object) ([]string, error)
}

// runEdits runs edits in order and reports how many changes they made.
// Every file is read and merged before any is written, so that one that
// cannot be changed (not JSON, read-only) leaves the others as they were
// too, not an MCP server entry without its hooks.
func runEdits(w io.Writer, edits []configEdit, dryRun, create bool) (int, error) {
	var writes []*pendingEdit
	for _, ed := range edits {
		p, err := ed.prepare(w, create)
		if err != nil {
			return 0, err
		}
		if p != nil {
			writes = append(writes, p)
		}
	}
	changed := 0
	for _, p := range writes {
		if err := p.write(w, dryRun); err != nil {
			return changed, err
		}
		changed += len(p.changes)
	}
	return changed, nil
}

// pendingEdit is an edit merged into its file's content, not yet written.
type pendingEdit struct {
	ed      configEdit
	target  string // the file written: ed.path, or the file it links to
	exists  bool
	old     []byte // the content replaced
	mode    fs.FileMode
	doc     *document
	changes []string
	// drop lists the files uninstall removes instead of writing: the
	// config, when ipcmesh's entries were all it held and install made
	// it, and its backups that hold nothing else either.
	drop []string
}

// prepare reads the edit's file and merges the edit into its content. It
// returns nil when that changes nothing, or when the file is not there
// and create is false (uninstall).
func (ed configEdit) prepare(w io.Writer, create bool) (*pendingEdit, error) {
	// A config that is a link (into a dotfiles folder, say) is changed
	// where it points: replacing the link with a file of its own would cut
	// it off from the file its owner keeps.
	p := &pendingEdit{ed: ed, target: ed.path}
	if t, err := filepath.EvalSymlinks(ed.path); err == nil {
		p.target = t
	} else if t, err := linkTarget(ed.path); err != nil {
		return nil, err
	} else {
		p.target = t
	}
	old, err := os.ReadFile(p.target)
	exists := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, unreadableConfig(ed.path, p.target, err)
	}
	if !exists && !create {
		fmt.Fprintf(w, "%s: not there, nothing to remove\n", ed.path)
		return nil, nil
	}
	if !exists && p.target != ed.path {
		// The file a link names is created where the link points, in a
		// folder that is there: one that is not (a dotfiles folder not
		// checked out, a drive not mounted) is not made up.
		if fi, err := os.Stat(filepath.Dir(p.target)); err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("%s is a link to %s, in a folder that is not there, %s: nothing was changed; create the folder, or remove the link", ed.path, p.target, filepath.Dir(p.target))
		}
	}
	p.doc = &document{root: newObject()}
	if exists {
		fi, err := os.Stat(p.target)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", ed.path, err)
		}
		p.exists, p.old, p.mode = true, old, fi.Mode().Perm()
		if len(bytes.TrimSpace(old)) > 0 {
			if p.doc, err = parseConfig(old, ed.comments); err != nil {
				kind := "plain JSON"
				if ed.comments {
					kind = "JSON (comments and trailing commas allowed)"
				}
				return nil, fmt.Errorf("%s is not %s (%v): nothing was changed; fix it, or edit it by hand", ed.path, kind, err)
			}
		}
	}
	root, ok := p.doc.root.(*object)
	if !ok {
		return nil, fmt.Errorf("%s does not hold a JSON object: nothing was changed", ed.path)
	}
	if p.changes, err = ed.merge(root); err != nil {
		return nil, fmt.Errorf("%s: %w: nothing was changed", ed.path, err)
	}
	if len(p.changes) == 0 {
		if create {
			fmt.Fprintf(w, "%s: already up to date\n", ed.path)
		} else {
			fmt.Fprintf(w, "%s: nothing of ipcmesh's in it\n", ed.path)
		}
		return nil, nil
	}
	// Replacing a file takes only a writable folder, so a file its owner
	// made read-only, to keep programs from changing it, would be changed
	// all the same.
	if exists && p.mode&0o200 == 0 {
		return nil, fmt.Errorf("%s is read-only: nothing was changed; make it writable (chmod u+w) and run this again, or edit it by hand", describePath(ed.path, p.target))
	}
	if !create && p.target == ed.path {
		p.drop = ed.leftovers(p.doc)
	}
	return p, nil
}

// leftovers returns the files uninstall removes when taking ipcmesh's
// entries out of ed's file left doc: the file and its backups, if the
// file is now an empty object and install made it (it has no backup, or
// only backups of ipcmesh's entries alone). A file that was there before
// install keeps its first backup, the owner's version: it stays, and so
// does what that backup holds, an empty object or more. nil means write
// doc as usual.
func (ed configEdit) leftovers(doc *document) []string {
	if !emptyConfig(doc) {
		return nil
	}
	drop := []string{ed.path}
	for _, b := range []string{ed.path + ".bak", ed.path + ".last.bak"} {
		data, err := os.ReadFile(b)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil || !ed.onlyIpcmesh(data) {
			return nil
		}
		drop = append(drop, b)
	}
	return drop
}

// onlyIpcmesh reports whether data, a version of ed's file, held ipcmesh's
// entries and nothing else.
func (ed configEdit) onlyIpcmesh(data []byte) bool {
	doc, err := parseConfig(data, ed.comments)
	if err != nil {
		return false
	}
	root, ok := doc.root.(*object)
	if !ok {
		return false
	}
	changes, err := ed.merge(root)
	return err == nil && len(changes) > 0 && emptyConfig(doc)
}

// emptyConfig reports whether doc is an empty object, comments and all.
func emptyConfig(doc *document) bool {
	data, err := encodeConfig(doc)
	return err == nil && string(bytes.TrimSpace(data)) == "{}"
}

// write writes the merged content (or, for a dry run, only says what it
// would change), creating the file if it is not there.
func (p *pendingEdit) write(w io.Writer, dryRun bool) error {
	path := p.ed.path
	switch {
	case len(p.drop) > 0 && dryRun:
		fmt.Fprintf(w, "would remove %s: ipcmesh's entries were all it held\n", strings.Join(p.drop, ", "))
	case len(p.drop) > 0:
		for _, f := range p.drop {
			if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("remove %s: %w", f, err)
			}
		}
		fmt.Fprintf(w, "removed %s: ipcmesh's entries were all it held\n", strings.Join(p.drop, ", "))
	case dryRun && p.exists:
		fmt.Fprintf(w, "would update %s:\n", path)
	case dryRun:
		fmt.Fprintf(w, "would create %s:\n", path)
	case p.exists:
		kept, err := writeConfig(path, p.target, p.old, p.doc, p.mode)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "updated %s (%s):\n", strings.TrimSuffix(describePath(path, p.target), ","), kept)
	default:
		fileMode, dirMode := fs.FileMode(0o600), fs.FileMode(0o700)
		if p.ed.shared {
			fileMode, dirMode = 0o644, 0o755
		}
		if err := os.MkdirAll(filepath.Dir(path), dirMode); err != nil {
			return fmt.Errorf("create %s: %w", filepath.Dir(path), err)
		}
		if _, err := writeConfig(path, p.target, nil, p.doc, fileMode); err != nil {
			return err
		}
		fmt.Fprintf(w, "created %s:\n", strings.TrimSuffix(describePath(path, p.target), ","))
	}
	for _, c := range p.changes {
		fmt.Fprintf(w, "  %s\n", c)
	}
	return nil
}

// unreadableConfig is the error for the config file path (target, the file it
// names) that could not be read with err: a folder where the file is, or
// a file where a folder on its way is, is said in those words, with the
// path once, where the system's words ("not a directory") named neither
// which one nor what to do.
func unreadableConfig(path, target string, err error) error {
	if fi, serr := os.Stat(target); serr == nil && fi.IsDir() {
		return fmt.Errorf("%s is a folder, where a config file belongs: nothing was changed; move it away, or edit the config by hand", describePath(path, target))
	}
	for dir := filepath.Dir(target); filepath.Dir(dir) != dir; dir = filepath.Dir(dir) {
		if fi, serr := os.Stat(dir); serr == nil {
			if !fi.IsDir() {
				return fmt.Errorf("%s is a file, where the folder of %s belongs: nothing was changed; move it away, or edit the config by hand", dir, path)
			}
			break
		}
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err // its path is the one named below
	}
	return fmt.Errorf("cannot read %s (%v): nothing was changed", describeTarget(path, target), err)
}

// describeTarget names a config file, and the file it links to if it is a
// link, as the subject of a sentence.
func describeTarget(path, target string) string {
	return strings.TrimSuffix(describePath(path, target), ",")
}

// linkTarget returns the file path names, following the links along it
// to the last one, whose file need not be there: EvalSymlinks fails on
// such a link, and writing to path would replace the link with a file of
// its own. A path that is not a link is returned as it is.
func linkTarget(path string) (string, error) {
	for range 255 {
		fi, err := os.Lstat(path)
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			return path, nil
		}
		dest, err := os.Readlink(path)
		if err != nil {
			return "", fmt.Errorf("read the link %s: %w", path, err)
		}
		if !filepath.IsAbs(dest) {
			// From the folder the link is really in: a ".." in dest
			// steps out of that one, not out of a link to it.
			dir := filepath.Dir(path)
			if real, err := filepath.EvalSymlinks(dir); err == nil {
				dir = real
			}
			dest = filepath.Join(dir, dest)
		}
		path = dest
	}
	return "", fmt.Errorf("%s: too many links: nothing was changed", path)
}

// describePath names a config file, and the file it links to if it is a
// link.
func describePath(path, target string) string {
	if target == path {
		return path
	}
	return fmt.Sprintf("%s, a link to %s,", path, target)
}

// writeConfig replaces target, the file path names (path itself, or the
// file the link path points to), with doc, atomically, with the given
// mode, and says where the previous content (old, nil for a new file) was
// kept: beside path, where its owner looks for it.
//
// The first backup, path.bak, is the file as its owner had it before
// ipcmesh first changed it, and it is never replaced: a later install or
// uninstall keeps the version it replaces in path.last.bak instead, so
// that the original is not lost to the second run.
func writeConfig(path, target string, old []byte, doc *document, mode fs.FileMode) (string, error) {
	data, err := encodeConfig(doc)
	if err != nil {
		return "", err
	}
	kept := ""
	if old != nil {
		if kept, err = keepBackup(path, old, mode); err != nil {
			return "", fmt.Errorf("keep a backup of %s: %w", path, err)
		}
	}
	if err := atomicfile.Write(target, data, mode); err != nil {
		return "", fmt.Errorf("write %s: %w", target, err)
	}
	return kept, nil
}

// keepBackup keeps old, the content of path about to be replaced, in
// path.bak if there is none yet and in path.last.bak otherwise, and says
// where. The first backup is created in one step that fails if it exists:
// of two installs at once, only one can write it, so the second cannot
// replace the original with what the first one wrote.
func keepBackup(path string, old []byte, mode fs.FileMode) (string, error) {
	created, err := atomicfile.Create(path+".bak", old, mode)
	if err != nil {
		return "", err
	}
	if created {
		return fmt.Sprintf("the previous version is in %s.bak", filepath.Base(path)), nil
	}
	if err := atomicfile.Write(path+".last.bak", old, mode); err != nil {
		return "", err
	}
	return fmt.Sprintf("the previous version is in %s.last.bak; %s.bak, the first one, is kept", filepath.Base(path), filepath.Base(path)), nil
}
