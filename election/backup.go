package election

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ipcmesh/ipcmesh/ipc"
)

// Backup writes a consistent copy of the store to dst while the broker
// serves. The broker writes the copy inside its own data folder; this peer
// then moves it to dst. The result's Path is dst; its Missing names the
// files that the store's records name but the data folder lacks, which
// the copy lacks too.
func (p *Peer) Backup(ctx context.Context, dst string) (ipc.BackupResult, error) {
	if err := checkBackupDest(p.cfg.DataDir, dst); err != nil {
		return ipc.BackupResult{}, err
	}
	var r ipc.BackupResult
	if err := p.Call(ctx, ipc.OpBackup, nil, &r); err != nil {
		return ipc.BackupResult{}, err
	}
	// Move only what a broker on our own data folder wrote: a path from a
	// broker is no instruction to move any other file of this user. The
	// folders are compared as folders, not as strings: the broker spells
	// the data folder as the peer that started it did, and one folder has
	// many spellings (on Windows c:\ and C:\, any case, an 8.3 short
	// name; anywhere, a link to it).
	backups := filepath.Join(p.cfg.DataDir, "backups")
	if !sameFolder(filepath.Dir(r.Path), backups) {
		return ipc.BackupResult{}, fmt.Errorf("the broker wrote its backup to %s, outside this data folder's %s: it serves another data folder; run backup with that broker's IPC_DATA_DIR", r.Path, backups)
	}
	if err := moveFile(r.Path, dst); err != nil {
		// The copy is of no use where nobody asked for it: left in the
		// data folder, every failed backup would keep a whole store there.
		os.Remove(r.Path)
		return ipc.BackupResult{}, fmt.Errorf("move backup to %s: %w", dst, err)
	}
	r.Path = dst
	return r, nil
}

// checkBackupDest refuses a backup's destination dst inside the data
// folder dir, but for its backups/: the move would put the copy in place
// of a file the broker is using, its database above all, and every write
// after the copy would be lost once the broker stops.
func checkBackupDest(dir, dst string) error {
	if dst == "" {
		return errors.New("no destination file given")
	}
	abs, err := filepath.Abs(dst)
	if err != nil {
		return fmt.Errorf("backup to %s: %w", dst, err)
	}
	if fi, err := os.Stat(abs); err == nil && fi.IsDir() {
		// Refused before the broker writes a copy of the whole store:
		// the move would fail after it, saying only "file exists".
		return fmt.Errorf("backup to %s: that is a folder; give the file to write in it, such as %s", dst, filepath.Join(dst, "ipcmesh.backup"))
	}
	data, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("backup to %s: %w", dst, err)
	}
	folder := filepath.Dir(abs)
	rel, inside := within(data, folder)
	if !inside {
		return folderExists(dst, folder)
	}
	if rel == "backups" {
		return nil // the broker makes it
	}
	switch rel, ok := within(filepath.Join(data, "backups"), folder); {
	case ok && rel == ".":
		return nil
	case ok:
		return folderExists(dst, folder)
	}
	return fmt.Errorf("backup to %s: that is inside the data folder %s, whose files the broker is using (a copy put in place of its database would lose every message stored after it): write the backup outside the data folder, or into %s",
		dst, data, filepath.Join(data, "backups"))
}

// within reports whether folder is the folder dir or inside it, and if
// so its path relative to dir. The folders are compared as folders,
// not as strings, walking up from folder: one folder has spellings that
// no cleaning of the string makes equal. On Windows \\?\C:\x, a subst
// or mapped drive and \\localhost\C$\x name C:\x, and their volume
// names differ, which filepath.Rel cannot relate: a backup to
// \\?\C:\...\secret was taken for one outside the folder and put in
// place of the mesh's secret. A dir that cannot be looked at (it does not
// exist yet) is compared as a string.
func within(dir, folder string) (rel string, ok bool) {
	fd, err := os.Stat(dir)
	if err != nil {
		rel, err := filepath.Rel(resolved(dir), resolved(folder))
		return rel, err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
	}
	var below []string // the names from folder up to p, innermost first
	for p := folder; ; {
		if fi, err := os.Stat(p); err == nil && os.SameFile(fi, fd) {
			slices.Reverse(below)
			return filepath.Join(append([]string{"."}, below...)...), true
		}
		parent := filepath.Dir(p)
		if parent == p {
			return "", false
		}
		below = append(below, filepath.Base(p))
		p = parent
	}
}

// folderExists refuses a backup to dst whose folder dir does not exist,
// before the broker writes a copy of the whole store: the move would fail
// after it, with "no such file or directory" naming no folder.
func folderExists(dst, dir string) error {
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return fmt.Errorf("backup to %s: there is no folder %s to write it in: make the folder first, or give a file in one that exists", dst, dir)
	}
	return nil
}

// resolved is path with its links followed, or path as it is when that
// fails (a folder that does not exist, which the move then names).
func resolved(path string) string {
	if r, err := filepath.EvalSymlinks(path); err == nil {
		return r
	}
	return path
}

// moveFile renames src to dst, copying when they are on different file
// systems. dst gets mode 0600: a backup holds every message. The copy is
// written beside dst and renamed over it once whole, so a copy that fails
// (a full disk) leaves no half backup at dst, nor spoils the backup an
// earlier run left there.
func moveFile(src, dst string) error {
	if dst == "" {
		return errors.New("no destination file given")
	}
	if abs, err := filepath.Abs(dst); err == nil {
		dst = abs
	}
	if err := os.Rename(src, dst); err == nil {
		return nil
	}
	if err := copyFile(src, dst); err != nil {
		return err
	}
	// Only once src is closed: Windows removes no file that is open.
	return os.Remove(src)
}

// copyFile writes a copy of src in the place of dst, whole or not at all,
// and closes both before it returns.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".*.tmp")
	if err != nil {
		return bare(err)
	}
	tmp := out.Name()
	err = out.Chmod(0o600)
	if err == nil {
		_, err = io.Copy(out, in)
	}
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, dst)
	}
	if err != nil {
		os.Remove(tmp)
		return bare(err)
	}
	return nil
}

// bare drops the file names from an error of the file system: the caller
// names the destination, and the temporary file beside it would only
// puzzle whoever reads the error.
func bare(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}
