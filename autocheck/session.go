package autocheck

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/internal/atomicfile"
	"github.com/ipcmesh/ipcmesh/internal/proc"
)

// An assistant session's hooks do not share its MCP server's environment
// or know what name the model registered, only the session's id (Claude
// Code gives both CLAUDE_CODE_SESSION_ID). Several sessions on one data
// folder each register their own name, and without this record every
// session's hooks would act as the same one: showing one session another's
// mail, and waking the wrong one. So the MCP server records the name it
// acts as under its session's id, and the session's hooks act as it.
//
// Layout, inside DATA/autocheck/sessions (0700): one file per session,
// named for its id, that holds the name and the pid of the server that
// wrote it (0600). A server that was killed leaves its record behind; a
// record whose server is gone counts as none, and the next server to save
// a name removes it once it is an hour old: a hook reads every record on
// each tool call, so records of sessions long gone must not pile up.

// SaveSessionName records that the MCP server of session, this process,
// acts as name.
func SaveSessionName(dataDir, session, name string) error {
	p, err := sessionPath(dataDir, session)
	if err != nil {
		return err
	}
	if err := ipcmesh.ValidateName(name); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return fmt.Errorf("create the sessions folder: %w", err)
	}
	if err := atomicfile.Write(p, fmt.Appendf(nil, "%s\n%d\n", name, os.Getpid()), 0o600); err != nil {
		return fmt.Errorf("record the name of session %s: %w", session, err)
	}
	sweepGone(filepath.Dir(p), time.Now().Add(-goneRecordAge))
	return nil
}

// goneRecordAge is how old the record of a server that is gone must be
// before it is removed. A session resumed under its old id has its new
// server write the record again; the age keeps a sweep from taking the
// place of that write, however the two meet.
const goneRecordAge = time.Hour

// sweepGone removes the records in dir last written before cutoff whose
// server is gone. It is tidying, so it gives up quietly on what it cannot
// read or remove.
func sweepGone(dir string, cutoff time.Time) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		before, err := os.Lstat(p)
		if err != nil || !before.Mode().IsRegular() || !before.ModTime().Before(cutoff) {
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		_, pid, _ := strings.Cut(strings.TrimSpace(string(data)), "\n")
		if n, err := strconv.Atoi(pid); err == nil && n > 0 && proc.Alive(n) {
			continue
		}
		// A record written again since it was read is a new file
		// (atomicfile renames it into place): leave that one.
		if after, err := os.Lstat(p); err == nil && os.SameFile(before, after) {
			os.Remove(p)
		}
	}
}

// SessionName returns the name the MCP server of session acts as, "" when
// it has recorded none (it has not registered yet, or it has ended).
func SessionName(dataDir, session string) (string, error) {
	p, err := sessionPath(dataDir, session)
	if err != nil {
		return "", err
	}
	data, err := atomicfile.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read the name of session %s: %w", session, err)
	}
	name, pid, _ := strings.Cut(strings.TrimSpace(string(data)), "\n")
	if err := ipcmesh.ValidateName(name); err != nil {
		return "", fmt.Errorf("the name recorded for session %s in %s: %w", session, p, err)
	}
	n, err := strconv.Atoi(pid)
	if err != nil || n <= 0 {
		return "", fmt.Errorf("the pid recorded for session %s in %s: %q is not one", session, p, pid)
	}
	if !proc.Alive(n) {
		return "", nil
	}
	return name, nil
}

// OtherSessionActsAs reports whether the MCP server of a session other
// than session acts as name: a session whose own server has no name yet
// must not act as that one, which is another session's. Records that
// cannot be read are passed over.
func OtherSessionActsAs(dataDir, session, name string) (bool, error) {
	entries, err := os.ReadDir(filepath.Join(Dir(dataDir), "sessions"))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read the sessions' names: %w", err)
	}
	for _, e := range entries {
		if e.Name() == session {
			continue
		}
		if acting, err := SessionName(dataDir, e.Name()); err == nil && acting == name {
			return true, nil
		}
	}
	return false, nil
}

// ForgetSession removes the record of session: its MCP server has ended,
// or acts as no name any more.
func ForgetSession(dataDir, session string) error {
	p, err := sessionPath(dataDir, session)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("forget the name of session %s: %w", session, err)
	}
	return nil
}

// sessionPath is the file of session's record. A session id comes from
// the environment, so it is checked as a name is: letters, digits, '-'
// and '_' only (a UUID is), up to 128 of them, so that it cannot reach
// outside the folder.
func sessionPath(dataDir, session string) (string, error) {
	if dataDir == "" {
		return "", errors.New("auto-check: no data folder given")
	}
	if session == "" || len(session) > 128 || strings.TrimLeft(session, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") != "" {
		return "", fmt.Errorf("session id %q: want up to 128 letters, digits, '-' or '_'", session)
	}
	return filepath.Join(Dir(dataDir), "sessions", session), nil
}
