package main

// Backup and restore as a user runs them: a backup taken while the mesh
// runs, more mail after it, then the folder put back as it was, large
// bodies included.

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ipcmesh/ipcmesh/internal/readonly"
	"github.com/ipcmesh/ipcmesh/ipc"
)

// reviewMail registers alice and bob and sends bob two messages from
// alice: a review of 34 KB, stored as a large message in a file of its
// own, and a short note. It returns the review and what its send said.
func reviewMail(t *testing.T, m *mesh) (string, ipc.SendResult) {
	t.Helper()
	m.mustRun("register", "alice")
	m.mustRun("register", "bob")
	big := strings.Repeat("the whole review, line after line\n", 1000)
	// On stdin: Windows starts no program whose command line is over
	// 32767 characters.
	r := m.runIn(big, "send", "--json", "--as", "alice", "bob", "-")
	if r.code != 0 {
		t.Fatalf("ipcmesh send - of %d bytes: %s", len(big), r)
	}
	var sent ipc.SendResult
	if err := json.Unmarshal([]byte(r.stdout), &sent); err != nil {
		t.Fatalf("send --json printed %q: %v", r.stdout, err)
	}
	if !sent.Message.Large {
		t.Fatalf("a %d-byte message was not stored as large: %+v", len(big), sent.Message)
	}
	m.mustRun("send", "--as", "alice", "bob", "and a short note")
	return big, sent
}

func TestBackupRestoreCLI(t *testing.T) {
	t.Parallel()
	m := newMesh(t)
	broker := m.startBroker()
	big, sent := reviewMail(t, m)
	backup := filepath.Join(t.TempDir(), "mesh.backup")
	wantIn(t, "backup", m.mustRun("backup", backup).stdout, "wrote a consistent copy", backup)
	m.mustRun("send", "--as", "alice", "bob", "sent after the backup")

	broker.stopAsCtrlC(runTimeout)

	out := m.mustRun("restore", backup).stdout
	wantIn(t, "restore", out, "restored "+backup, "2 messages (2 unread), 2 instances", "kept in", "before-restore")
	if got := m.mustRun("fetch", "--as", "bob", sent.Message.ID).stdout; got != big {
		t.Errorf("fetch of the large message after the restore printed %d bytes, want its %d", len(got), len(big))
	}
	check := m.mustRun("check", "--as", "bob").stdout
	wantIn(t, "check after the restore", check, "and a short note")
	wantNotIn(t, "check after the restore", check, "sent after the backup")

	m.usageFails("restore")
	wantIn(t, "restore of a file that is not a backup", m.mustFail("restore", filepath.Join(m.dir, "ipcmesh.db")), "live database")
}

// A restore while an assistant's peer is connected: the peers elect a new
// broker the moment one stops, so the folder is never free, and the
// restore is handed over to the broker that takes the port. The watching
// peer waits through it and goes on; the mail is the backup's.
func TestRestoreWhileAnAssistantRuns(t *testing.T) {
	t.Parallel()
	m := newMesh(t)
	watcher := m.start(nil, "watch", "--json", "--as", "carol")
	big, sent := reviewMail(t, m)
	m.mustRun("send", "--as", "alice", "carol", "before the backup")
	watchMessage(watcher, "before the backup")
	backup := filepath.Join(t.TempDir(), "mesh.backup")
	m.mustRun("backup", backup)
	m.mustRun("send", "--as", "alice", "bob", "sent after the backup")
	first := m.status().Broker.PID

	// A file that is no backup stops nothing.
	notBackup := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(notBackup, []byte("not a store"), 0o600); err != nil {
		t.Fatal(err)
	}
	wantIn(t, "restore of a file that is not a backup", m.mustFail("restore", notBackup), "not a backup made with ipcmesh backup")
	if pid := m.status().Broker.PID; pid != first {
		t.Fatalf("a restore refused for its file changed the broker from pid %d to %d", first, pid)
	}

	res := m.mustRun("restore", backup)
	out := res.stdout
	wantIn(t, "restore's stderr with a peer connected", res.stderr, "the broker that takes its place restores the backup into the store before it serves")
	wantIn(t, "restore with a peer connected", out, "restored "+backup, "3 messages (2 unread), 3 instances", "kept in", "before-restore")
	next := m.status().Broker.PID
	if next == first {
		t.Errorf("the broker is still pid %d after the restore: it was to be made by the next broker", next)
	}
	wantIn(t, "restore with a peer connected", out, fmt.Sprintf("it (pid %d) was stopped, and the broker that took its place (pid %d) restored the store", first, next))
	for _, f := range []string{"handover-request.json", "handover-report.json"} {
		if _, err := os.Stat(filepath.Join(m.dir, f)); !os.IsNotExist(err) {
			t.Errorf("%s is left in the data folder: %v", f, err)
		}
	}
	if got := m.mustRun("fetch", "--as", "bob", sent.Message.ID).stdout; got != big {
		t.Errorf("fetch of the large message after the restore printed %d bytes, want its %d", len(got), len(big))
	}
	check := m.mustRun("check", "--as", "bob").stdout
	wantIn(t, "check after the restore", check, "and a short note")
	wantNotIn(t, "check after the restore", check, "sent after the backup")

	m.mustRun("send", "--as", "alice", "carol", "after the restore")
	watchMessage(watcher, "after the restore")
	watcher.stopAsCtrlC(runTimeout)
}

// A backup that cannot be moved where it was asked for fails, naming the
// destination, and leaves no copy of the store behind in the data folder.
// Before, each such run left a whole copy in DATA/backups/, unnamed, so a
// nightly backup to a folder that was gone filled the disk with them. A
// folder that is gone is now refused before the copy is written, naming
// it: the move said only "no such file or directory".
func TestFailedBackupLeavesNoCopy(t *testing.T) {
	t.Parallel()
	m := newMesh(t)
	m.startBroker()
	m.mustRun("register", "alice")
	m.mustRun("send", "--as", "alice", "alice2", "a note")
	gone := filepath.Join(t.TempDir(), "gone")
	dst := filepath.Join(gone, "mesh.backup")
	wantIn(t, "backup into a missing folder", m.mustFail("backup", dst), dst, "no folder "+gone, "make the folder first")
	// A folder that cannot be written: the copy is written, and its move
	// fails.
	locked := t.TempDir()
	readonly.Folder(t, locked)
	dst = filepath.Join(locked, "mesh.backup")
	wantIn(t, "backup into a read-only folder", m.mustFail("backup", dst), "move backup to "+dst)
	if left, _ := os.ReadDir(filepath.Join(m.dir, "backups")); len(left) != 0 {
		t.Errorf("a failed backup left %d files in the data folder's backups/: %v", len(left), left)
	}
}

// A backup to a folder is refused before the copy is written, naming the
// folder and a file to give instead: the move over the folder failed
// after a copy of the whole store was made, saying only "file exists".
func TestBackupRefusesAFolder(t *testing.T) {
	t.Parallel()
	m := newMesh(t)
	m.startBroker()
	m.mustRun("register", "alice")
	folder := t.TempDir()
	if err := os.Mkdir(filepath.Join(folder, "inside"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, dst := range []string{folder, filepath.Join(folder, "inside") + string(filepath.Separator)} {
		wantIn(t, "backup to a folder", m.mustFail("backup", dst), "backup to "+dst+": that is a folder", "give the file to write in it")
		wantNotIn(t, "backup to a folder", m.mustFail("backup", dst), "file exists")
	}
	if left, _ := os.ReadDir(filepath.Join(m.dir, "backups")); len(left) != 0 {
		t.Errorf("a refused backup left %d files in the data folder's backups/: %v", len(left), left)
	}
	if left, _ := os.ReadDir(folder); len(left) != 1 {
		t.Errorf("a refused backup wrote into the folder: %v", left)
	}
}

// A backup asked for in place of a file of the data folder is refused
// before anything is written: moved over the database the broker is
// using, it took its place, and every message acked after it was lost
// once the broker stopped. Its backups/ folder is the place for one.
func TestBackupRefusesTheDataFolder(t *testing.T) {
	t.Parallel()
	m := newMesh(t)
	broker := m.startBroker()
	m.mustRun("register", "alice")
	m.mustRun("register", "bob")
	m.mustRun("send", "--as", "alice", "bob", "before the backup")
	for _, dst := range []string{
		filepath.Join(m.dir, "ipcmesh.db"),
		filepath.Join(m.dir, "ipcmesh.journal"),
		filepath.Join(m.dir, "large-messages", "copy.db"),
	} {
		wantIn(t, "backup to "+dst, m.mustFail("backup", dst), dst, "inside the data folder", "backups")
	}
	if left, _ := os.ReadDir(filepath.Join(m.dir, "backups")); len(left) != 0 {
		t.Errorf("a refused backup left %d files in backups/", len(left))
	}
	m.mustRun("backup", filepath.Join(m.dir, "backups", "mine.backup"))
	m.mustRun("send", "--as", "alice", "bob", "after the backup")
	broker.stopAsCtrlC(runTimeout)
	wantIn(t, "check after the broker stopped", m.mustRun("check", "--as", "bob").stdout, "before the backup", "after the backup")
}

// A backup run with another spelling of the data folder than the one its
// broker was started with is the folder's backup all the same. The broker
// names its copy as it spells the folder, and the command compared that
// name with its own as strings: on Windows, where c:\ and C:\ and any
// case of a path name one folder, a terminal that typed the folder
// otherwise than the assistant that started the broker was told the
// broker served another data folder, and the copy stayed in backups/. A
// link to the folder is that other spelling here.
func TestBackupThroughAnotherSpellingOfTheFolder(t *testing.T) {
	t.Parallel()
	m := newMesh(t)
	m.startBroker()
	m.mustRun("register", "alice")
	m.mustRun("send", "--as", "alice", "bob", "before the backup")
	link := filepath.Join(t.TempDir(), "mesh")
	if err := os.Symlink(m.dir, link); err != nil {
		t.Skipf("no link to the data folder: %v", err)
	}
	dst := filepath.Join(t.TempDir(), "mesh.backup")
	if r := m.withEnv("IPC_DATA_DIR="+link).run("backup", dst); r.code != 0 {
		t.Fatalf("backup through a link to the data folder:\n%s", r)
	}
	if _, err := os.Stat(dst); err != nil {
		t.Errorf("no backup at %s: %v", dst, err)
	}
	if left, _ := os.ReadDir(filepath.Join(m.dir, "backups")); len(left) != 0 {
		t.Errorf("the backup left %d files in the data folder's backups/: %v", len(left), left)
	}
}

// A backup of a store whose large body was removed by hand is written,
// and says what it lacks: the body is lost already, and a nightly backup
// refused for it made no backup at all for a month.
func TestBackupOfAStoreMissingABody(t *testing.T) {
	t.Parallel()
	m := newMesh(t)
	_, sent := reviewMail(t, m)
	if err := os.Remove(sent.Message.Path); err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(t.TempDir(), "mesh.backup")
	res := m.mustRun("backup", backup)
	wantIn(t, "backup", res.stdout, "wrote a consistent copy", backup)
	wantIn(t, "backup's stderr", res.stderr, "the copy lacks 1 file that records of the store name, removed from the data folder or changed by hand",
		filepath.Join("large-messages", filepath.Base(sent.Message.Path)), fmt.Sprintf("(message %q, removed)", sent.Message.ID))
	if _, err := os.Stat(backup); err != nil {
		t.Fatalf("the backup: %v", err)
	}
}

// backup - is refused, called wrongly (exit 2): it wrote a copy of the
// whole store to a file named "-" in the current folder, and said so as
// if that were a backup put where it was asked, while a user who meant
// stdout, as send - means stdin, found nothing there.
func TestBackupRefusesDash(t *testing.T) {
	t.Parallel()
	m := newMesh(t)
	m.startBroker()
	m.mustRun("register", "alice")
	cwd := t.TempDir()
	p := m.startWith(func(c *exec.Cmd) { c.Dir = cwd }, nil, "backup", "-")
	code := p.wait(runTimeout)
	if code != 2 || !strings.Contains(p.stderr.String(), "backup writes a file, not stdout") || !strings.Contains(p.stderr.String(), "usage: ipcmesh backup") {
		t.Errorf("ipcmesh backup -: exit %d, stdout %q, stderr %q; want exit 2 saying it writes a file, not stdout, with the usage", code, p.stdout.String(), p.stderr.String())
	}
	if left, _ := os.ReadDir(cwd); len(left) != 0 {
		t.Errorf("ipcmesh backup - wrote into the current folder: %v", left)
	}
	if left, _ := os.ReadDir(filepath.Join(m.dir, "backups")); len(left) != 0 {
		t.Errorf("ipcmesh backup - left %d files in the data folder's backups/: %v", len(left), left)
	}
	// A file named - is still a file to write, spelt ./-.
	p = m.startWith(func(c *exec.Cmd) { c.Dir = cwd }, nil, "backup", "./-")
	if code := p.wait(runTimeout); code != 0 {
		t.Fatalf("ipcmesh backup ./-: exit %d, stderr %q", code, p.stderr.String())
	}
	if _, err := os.Stat(filepath.Join(cwd, "-")); err != nil {
		t.Errorf("ipcmesh backup ./- wrote no file named -: %v", err)
	}
	// Nor does restore read stdin: it says so, and restores nothing.
	p = m.startWith(func(c *exec.Cmd) { c.Dir = cwd }, strings.NewReader("not a backup"), "restore", "-")
	if code := p.wait(runTimeout); code != 2 || !strings.Contains(p.stderr.String(), "restore reads a file, not stdin") {
		t.Errorf("ipcmesh restore -: exit %d, stderr %q; want exit 2 saying it reads a file, not stdin", code, p.stderr.String())
	}
}
