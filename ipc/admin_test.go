package ipc_test

import (
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/internal/readonly"
	"github.com/ipcmesh/ipcmesh/ipc"
	"github.com/ipcmesh/ipcmesh/store"
)

func TestStatus(t *testing.T) {
	m := startMesh(t, func(o *meshOptions) { o.Config.SecretFrom = "env" })
	alice := m.join(t, "alice")
	m.join(t, "bob")
	anon := m.dial(t)
	alice.send(t, "bob", "one")
	alice.send(t, "bob", "two")

	var st ipc.StatusResult
	anon.must(t, ipc.OpStatus, nil, &st)
	if st.Version != ipc.Version || st.Broker.PID != os.Getpid() || st.Broker.Addr != m.Addr || st.Broker.DataDir != m.Dir {
		t.Errorf("status broker = %+v, version %d", st.Broker, st.Version)
	}
	if st.Connections != 3 {
		t.Errorf("connections = %d, want 3", st.Connections)
	}
	if !slices.Equal(st.Online, []string{"alice", "bob"}) {
		t.Errorf("online = %v, want [alice bob]", st.Online)
	}
	if st.Store != ipc.StoreOK || st.StoreError != "" {
		t.Errorf("store %q (%q), want ok", st.Store, st.StoreError)
	}
	if st.Instances == nil || st.Messages == nil || st.Unread == nil || *st.Instances != 2 || *st.Messages != 2 || *st.Unread != 2 {
		t.Errorf("instances %v, messages %v, unread %v; want 2, 2, 2", st.Instances, st.Messages, st.Unread)
	}
	if st.SecretFrom != "env" || st.Uptime == "" {
		t.Errorf("secret from %q, uptime %q", st.SecretFrom, st.Uptime)
	}
	if _, err := time.ParseDuration(st.Uptime); err != nil {
		t.Errorf("uptime %q: %v", st.Uptime, err)
	}
}

func TestList(t *testing.T) {
	m := startMesh(t, nil)
	alice := m.join(t, "alice")
	moved := m.dial(t)
	moved.register(t, ipc.RegisterRequest{Name: "gone"})
	moved.register(t, ipc.RegisterRequest{Name: "here"}) // gone is left offline
	alice.send(t, "gone", "a")
	alice.send(t, "gone", "b")
	alice.send(t, "nobody", "queued") // never registered: not listed

	var list ipc.ListResult
	m.dial(t).must(t, ipc.OpList, nil, &list)
	want := map[string]struct {
		online bool
		unread int
	}{"alice": {true, 0}, "gone": {false, 2}, "here": {true, 0}}
	if len(list.Instances) != len(want) {
		t.Fatalf("list = %+v, want %d instances", list.Instances, len(want))
	}
	for i, in := range list.Instances {
		w, ok := want[in.Name]
		if !ok {
			t.Errorf("unexpected instance %+v", in)
			continue
		}
		if in.Online != w.online || in.Unread != w.unread {
			t.Errorf("%s: online %v unread %d, want %v %d", in.Name, in.Online, in.Unread, w.online, w.unread)
		}
		if in.Registered.IsZero() || in.LastSeen.Before(in.Registered) {
			t.Errorf("%s: registered %v, last seen %v", in.Name, in.Registered, in.LastSeen)
		}
		if i > 0 && list.Instances[i-1].Name >= in.Name {
			t.Errorf("list not sorted by name: %s before %s", list.Instances[i-1].Name, in.Name)
		}
	}

	// Unregister takes a name offline at once.
	alice.must(t, ipc.OpUnregister, nil, nil)
	m.dial(t).must(t, ipc.OpList, nil, &list)
	for _, in := range list.Instances {
		if in.Name == "alice" && in.Online {
			t.Error("alice is online after unregister")
		}
	}
}

func TestBackup(t *testing.T) {
	m := startMesh(t, nil)
	alice := m.join(t, "alice")
	m.join(t, "bob")
	sent := alice.send(t, "bob", "back me up")

	var res ipc.BackupResult
	m.dial(t).must(t, ipc.OpBackup, nil, &res)
	if filepath.Dir(res.Path) != filepath.Join(m.Dir, "backups") {
		t.Fatalf("backup at %s, want it in %s", res.Path, filepath.Join(m.Dir, "backups"))
	}
	fi, err := os.Stat(res.Path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() != res.Size || runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("backup file: size %d (said %d), mode %v", fi.Size(), res.Size, fi.Mode())
	}

	// The copy is a store of its own.
	dir := t.TempDir()
	copyFile(t, res.Path, filepath.Join(dir, "ipcmesh.db"))
	st, err := store.Open(store.Options{Dir: dir})
	if err != nil {
		t.Fatalf("open the backup: %v", err)
	}
	defer st.Close()
	msgs, err := st.Unread("bob", 10)
	if err != nil || len(msgs) != 1 || msgs[0].ID != sent.Message.ID || msgs[0].Content != "back me up" {
		t.Fatalf("bob's inbox in the backup = %+v, %v", msgs, err)
	}
	if names, _ := st.Names(); !slices.Equal(names, []string{"alice", "bob"}) {
		t.Errorf("instances in the backup = %v", names)
	}

	// A second backup does not overwrite the first.
	var again ipc.BackupResult
	m.dial(t).must(t, ipc.OpBackup, nil, &again)
	if again.Path == res.Path {
		t.Errorf("two backups share the path %s", res.Path)
	}
	// A request cannot choose where the broker writes.
	m.dial(t).must(t, ipc.OpBackup, map[string]string{"path": filepath.Join(dir, "evil.db")}, &again)
	if _, err := os.Stat(filepath.Join(dir, "evil.db")); err == nil {
		t.Error("the broker wrote a backup where the request said")
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// A backup asked of a broker whose data folder was made read-only, with
// no backups/ in it yet, is refused with unavailable, saying what to do;
// before, it was "the broker failed: make backup folder: ...: permission
// denied", a fault of the broker to report.
func TestBackupIntoReadOnlyDataFolder(t *testing.T) {
	m := startMesh(t, nil)
	writable := readonly.Folder(t, m.Dir)
	err := m.dial(t).call(ipc.OpBackup, nil, nil)
	if ipcmesh.CodeOf(err) != ipcmesh.CodeUnavailable || !strings.Contains(err.Error(), "make the data folder writable") {
		t.Fatalf("backup into a read-only data folder: %v (code %q); want unavailable saying to make the folder writable", err, ipcmesh.CodeOf(err))
	}
	writable()
	var res ipc.BackupResult
	m.dial(t).must(t, ipc.OpBackup, nil, &res)
}

// A backup of a store whose large bodies were removed by hand is made
// all the same, and names what it lacks, as many as a frame should carry:
// the files are lost already, and refusing kept every backup from being
// made until their records were swept.
func TestBackupNamesMissingFiles(t *testing.T) {
	m := startMesh(t, func(o *meshOptions) { o.Store.LargeMessageBytes = 64 })
	alice := m.join(t, "alice")
	m.join(t, "bob")
	const sent = ipc.MaxMissingShown + 5
	for range sent {
		alice.send(t, "bob", strings.Repeat("a large body ", 10))
	}
	large := filepath.Join(m.Dir, "large-messages")
	files, err := os.ReadDir(large)
	if err != nil || len(files) != sent {
		t.Fatalf("the large bodies: %d files, %v; want %d", len(files), err, sent)
	}
	for _, f := range files {
		if err := os.Remove(filepath.Join(large, f.Name())); err != nil {
			t.Fatal(err)
		}
	}

	var res ipc.BackupResult
	m.dial(t).must(t, ipc.OpBackup, nil, &res)
	if _, err := os.Stat(res.Path); err != nil {
		t.Fatalf("the backup of a store missing files: %v", err)
	}
	if len(res.Missing) != ipc.MaxMissingShown || res.MoreMissing != sent-ipc.MaxMissingShown {
		t.Fatalf("the backup named %d missing files and %d more, want %d and %d", len(res.Missing), res.MoreMissing, ipc.MaxMissingShown, sent-ipc.MaxMissingShown)
	}
	for _, f := range res.Missing {
		if !strings.HasPrefix(f, "large-messages"+string(filepath.Separator)) || !strings.Contains(f, "(message ") {
			t.Errorf("missing file %q, want large-messages/NAME (message ID)", f)
		}
	}
}
