package election

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
)

// DetachedLog is the writer a detached broker logs to, given its stderr
// and data folder. When stderr is the folder's broker.log, as spawn makes
// it, the log is kept under maxBrokerLog while the broker runs: the
// rotation when a broker starts never comes for one that runs for weeks,
// and its log must not fill the disk meanwhile. Otherwise stderr is
// returned as it is.
func DetachedLog(stderr io.Writer, dataDir string) io.Writer {
	f, ok := stderr.(*os.File)
	if !ok {
		return stderr
	}
	if l := newCappedLog(f, filepath.Join(dataDir, brokerLog), maxBrokerLog); l != nil {
		return l
	}
	return stderr
}

// cappedLog writes to f, the file at path, and starts a new one at path
// before a write would take it past max bytes, the old one kept as
// path+".1". f itself follows: what is written to it other than through
// the log, such as the trace of a crash the runtime writes to stderr,
// lands in broker.log or broker.log.1, the two files spawn's errors point
// to (rotate, for each system, says how).
type cappedLog struct {
	mu   sync.Mutex
	f    *os.File
	path string
	max  int64
	// failed is the last rotation's error, written to the log once.
	failed string
}

// newCappedLog is a cappedLog of f, nil when f is not the file at path
// (a stderr that is not the log must be left alone).
func newCappedLog(f *os.File, path string, max int64) *cappedLog {
	cur, err := f.Stat()
	if err != nil {
		return nil
	}
	at, err := os.Stat(path)
	if err != nil || !os.SameFile(cur, at) {
		return nil
	}
	return &cappedLog{f: f, path: path, max: max}
}

// Write writes p to the log, starting a new one first when p would take
// it past its cap. The size is the file's, not a count of what went
// through here, so that what else is written to it counts too.
func (l *cappedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if fi, err := l.f.Stat(); err == nil && fi.Size() > 0 && fi.Size()+int64(len(p)) > l.max {
		l.rotated(l.rotate())
	}
	return l.f.Write(p)
}

// rotated notes the outcome of a rotation: a failure is written to the
// log once (the log grows past its cap until a rotation succeeds, tried
// again at every write), since the log is where the user looks.
func (l *cappedLog) rotated(err error) {
	if err == nil {
		l.failed = ""
		return
	}
	if err.Error() == l.failed {
		return
	}
	l.failed = err.Error()
	slog.New(slog.NewTextHandler(l.f, nil)).Warn("cannot start a new log: this one grows past its cap until it can; make the data folder and its files writable for the user ipcmesh runs as",
		"log", l.path, "cap", l.max, "err", err)
}
