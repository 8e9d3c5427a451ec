// Package autocheck keeps each instance's auto-check setting in the data
// folder: how often an assistant's hooks may show it its unread mail, and
// when they last did.
//
// Layout, inside DATA/autocheck (0700):
//
//	NAME.json       the Setting for NAME (0600)
//	NAME.json.damaged  a Setting that could not be read, set aside (SetAside)
//	NAME.wake.json  the Wake state of `ipcmesh hook wait` for NAME (0600)
//	NAME.wait       a socket the one running `hook wait` for NAME listens on
//	NAME.hook       an empty file whose time is when a hook last ran for NAME
//	sessions/ID     the name the MCP server of the assistant's session ID
//	                acts as, for the session's hooks (SessionName)
//
// The MCP tool auto_check writes the interval; `ipcmesh hook check` reads
// it and records LastShown; `ipcmesh hook wait` keeps its own file so that
// the two never overwrite each other's fields. Files are written whole under
// a temporary name and renamed into place, so a reader sees the old setting
// or the new one, never half of one. Every name is checked with
// ipcmesh.ValidateName first, so no name can reach outside the folder.
package autocheck

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/internal/atomicfile"
)

// Setting is one instance's auto-check setting.
type Setting struct {
	// IntervalMinutes is how often, at most, hooks show unread mail; 0
	// turns auto-check off.
	IntervalMinutes int `json:"interval_minutes"`
	// LastShown is when a hook last showed unread mail.
	LastShown time.Time `json:"last_shown"`
}

// Due reports whether a hook should show mail now: auto-check is on and at
// least IntervalMinutes have passed since LastShown. A LastShown in the
// future (the clock was set back) counts as long ago, so a clock change
// cannot silence auto-check. An interval too long for a time.Duration
// (auto_check takes any number) is as long as one can be, rather than the
// product wrapping round to a negative or zero interval, which was due at
// every hook.
func (s Setting) Due(now time.Time) bool {
	if s.IntervalMinutes <= 0 {
		return false
	}
	interval := time.Duration(math.MaxInt64)
	if int64(s.IntervalMinutes) < int64(interval/time.Minute) {
		interval = time.Duration(s.IntervalMinutes) * time.Minute
	}
	since := now.Sub(s.LastShown)
	return since < 0 || since >= interval
}

// Load returns the setting saved for name, or the zero Setting (auto-check
// off) when there is none. A file that cannot be decoded is an error that
// matches ErrDamaged.
func Load(dataDir, name string) (Setting, error) {
	var s Setting
	err := load(dataDir, name, ".json", &s)
	return s, err
}

// ErrDamaged is matched (errors.Is) by the error of a load whose file is
// there but cannot be decoded: a hand edit gone wrong, or a disk that lost
// part of it.
var ErrDamaged = errors.New("damaged")

// SetAside moves the damaged setting of name out of the way, to the same
// name with ".damaged" after it (replacing one set aside before), and
// returns where it now is. Auto-check is then off for name, as with no
// setting, until one is saved again: a damaged file that stayed where it
// was would turn it off on every hook's run without anyone being told.
func SetAside(dataDir, name string) (string, error) {
	p, err := path(dataDir, name, ".json")
	if err != nil {
		return "", err
	}
	if err := os.Rename(p, p+".damaged"); err != nil {
		return "", fmt.Errorf("set aside the damaged auto-check setting of %s: %w", name, err)
	}
	return p + ".damaged", nil
}

// Save replaces the setting for name.
func Save(dataDir, name string, s Setting) error {
	if s.IntervalMinutes < 0 {
		return fmt.Errorf("auto-check interval %d: want 0 (off) or a number of minutes above 0", s.IntervalMinutes)
	}
	return save(dataDir, name, ".json", s)
}

// Move moves the setting of old, if it has one, to renamed, for an
// instance renamed: the setting belongs to the instance, not to the name,
// and the hooks read it by the name the instance acts as. An error says
// which half failed; the new name's setting is written first, so an
// instance never loses it.
func Move(dataDir, old, renamed string) error {
	set, err := Load(dataDir, old)
	if err != nil || set.IntervalMinutes == 0 || old == renamed {
		return nil
	}
	if err := Save(dataDir, renamed, set); err != nil {
		return fmt.Errorf("move the auto-check setting of %s to %s: %w", old, renamed, err)
	}
	if err := Save(dataDir, old, Setting{}); err != nil {
		return fmt.Errorf("moved the auto-check setting of %s to %s, but could not turn it off for %s: %w", old, renamed, old, err)
	}
	return nil
}

// Wake is what `ipcmesh hook wait` remembers between runs: the sequence
// number of the newest message it has woken the assistant for. Mail the
// assistant leaves unread then wakes it once, not at every stop.
type Wake struct {
	Seq uint64 `json:"seq"`
}

// LoadWake returns the wake state for name, zero when there is none or
// when its file is damaged: the state only spares the assistant a second
// wake for the same mail, which is all that starting afresh can cost, and
// the next SaveWake replaces the damaged file. Refusing instead ended every
// wait at once, so that mail never woke the assistant again.
func LoadWake(dataDir, name string) (Wake, error) {
	var w Wake
	err := load(dataDir, name, ".wake.json", &w)
	if errors.Is(err, ErrDamaged) {
		return Wake{}, nil
	}
	return w, err
}

// SaveWake replaces the wake state for name.
func SaveWake(dataDir, name string, w Wake) error {
	return save(dataDir, name, ".wake.json", w)
}

// MarkHook records that a hook runs for name now. auto_check reads it to
// tell whether turning auto-check on does anything: without hooks nothing
// shows the mail. Hooks run at every prompt and tool call, so a mark less
// than a minute old is left as it is.
func MarkHook(dataDir, name string) error {
	p, err := path(dataDir, name, ".hook")
	if err != nil {
		return err
	}
	now := time.Now()
	fi, err := os.Stat(p)
	switch {
	case err == nil && now.Sub(fi.ModTime()) < time.Minute:
		return nil
	case err == nil:
		return os.Chtimes(p, now, now)
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return fmt.Errorf("create auto-check folder: %w", err)
	}
	return os.WriteFile(p, nil, 0o600)
}

// LastHook returns when a hook last ran for name, and false if none has
// run in this data folder.
func LastHook(dataDir, name string) (time.Time, bool) {
	p, err := path(dataDir, name, ".hook")
	if err != nil {
		return time.Time{}, false
	}
	fi, err := os.Stat(p)
	if err != nil {
		return time.Time{}, false
	}
	return fi.ModTime(), true
}

// Dir is the folder that holds the settings of a data folder.
func Dir(dataDir string) string { return filepath.Join(dataDir, "autocheck") }

func path(dataDir, name, suffix string) (string, error) {
	if err := ipcmesh.ValidateName(name); err != nil {
		return "", err
	}
	if dataDir == "" {
		return "", errors.New("auto-check: no data folder given")
	}
	return filepath.Join(Dir(dataDir), ipcmesh.FileName(name)+suffix), nil
}

func load(dataDir, name, suffix string, v any) error {
	p, err := path(dataDir, name, suffix)
	if err != nil {
		return err
	}
	data, err := atomicfile.ReadFile(p)
	// On Windows a device's name was never a file, and reading one reads
	// the device.
	device := runtime.GOOS == "windows" && ipcmesh.IsWindowsDevice(name)
	if legacy := filepath.Join(Dir(dataDir), name+suffix); errors.Is(err, fs.ErrNotExist) && legacy != p && !device {
		// Saved before file names kept case apart and clear of Windows'
		// device names; the next save moves it.
		p = legacy
		data, err = os.ReadFile(p)
	}
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read auto-check state for %s: %w", name, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("auto-check file %s is %w (%v): delete it to start afresh", p, ErrDamaged, err)
	}
	return nil
}

func save(dataDir, name, suffix string, v any) error {
	p, err := path(dataDir, name, suffix)
	if err != nil {
		return err
	}
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return fmt.Errorf("create auto-check folder: %w", err)
	}
	if err := atomicfile.Write(p, append(data, '\n'), 0o600); err != nil {
		return fmt.Errorf("save auto-check state for %s: %w", name, err)
	}
	return nil
}
