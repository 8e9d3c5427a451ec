package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

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

// runEdits runs edits in order, stopping at the first error, and reports
// how many changes they made.
func runEdits(w io.Writer, edits []configEdit, dryRun, create bool) (int, error) {
	changed := 0
	for _, ed := range edits {
		n, err := ed.run(w, dryRun, create)
		if err != nil {
			return changed, err
		}
		changed += n
	}
	return changed, nil
}

// run merges the edit into its file (or, for a dry run, only says what it
// would change) and reports how many changes there were. A file that is
// not there is created, unless create is false (uninstall).
func (ed configEdit) run(w io.Writer, dryRun, create bool) (int, error) {
	old, err := os.ReadFile(ed.path)
	exists := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("read %s: %w", ed.path, err)
	}
	if !exists && !create {
		fmt.Fprintf(w, "%s: not there, nothing to remove\n", ed.path)
		return 0, nil
	}
	doc := &document{root: newObject()}
	if exists && len(bytes.TrimSpace(old)) > 0 {
		if doc, err = parseConfig(old, ed.comments); err != nil {
			kind := "plain JSON"
			if ed.comments {
				kind = "JSON (comments and trailing commas allowed)"
			}
			return 0, fmt.Errorf("%s is not %s (%v): nothing was changed; fix it, or edit it by hand", ed.path, kind, err)
		}
	}
	root, ok := doc.root.(*object)
	if !ok {
		return 0, fmt.Errorf("%s does not hold a JSON object: nothing was changed", ed.path)
	}
	changes, err := ed.merge(root)
	if err != nil {
		return 0, fmt.Errorf("%s: %w: nothing was changed", ed.path, err)
	}
	if len(changes) == 0 {
		if create {
			fmt.Fprintf(w, "%s: already up to date\n", ed.path)
		} else {
			fmt.Fprintf(w, "%s: nothing of ipcmesh's in it\n", ed.path)
		}
		return 0, nil
	}
	switch {
	case dryRun && exists:
		fmt.Fprintf(w, "would update %s:\n", ed.path)
	case dryRun:
		fmt.Fprintf(w, "would create %s:\n", ed.path)
	case exists:
		fi, err := os.Stat(ed.path)
		var kept string
		if err == nil {
			kept, err = writeConfig(ed.path, old, doc, fi.Mode().Perm())
		}
		if err != nil {
			return 0, err
		}
		fmt.Fprintf(w, "updated %s (%s):\n", ed.path, kept)
	default:
		fileMode, dirMode := fs.FileMode(0o600), fs.FileMode(0o700)
		if ed.shared {
			fileMode, dirMode = 0o644, 0o755
		}
		if err := os.MkdirAll(filepath.Dir(ed.path), dirMode); err != nil {
			return 0, fmt.Errorf("create %s: %w", filepath.Dir(ed.path), err)
		}
		if _, err := writeConfig(ed.path, nil, doc, fileMode); err != nil {
			return 0, err
		}
		fmt.Fprintf(w, "created %s:\n", ed.path)
	}
	for _, c := range changes {
		fmt.Fprintf(w, "  %s\n", c)
	}
	return len(changes), nil
}

// writeConfig replaces path with doc, atomically, with the given mode, and
// says where the previous content (old, nil for a new file) was kept.
//
// The first backup, path.bak, is the file as its owner had it before
// ipcmesh first changed it, and it is never replaced: a later install or
// uninstall keeps the version it replaces in path.last.bak instead, so
// that the original is not lost to the second run.
func writeConfig(path string, old []byte, doc *document, mode fs.FileMode) (string, error) {
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
	if err := atomicfile.Write(path, data, mode); err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
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
