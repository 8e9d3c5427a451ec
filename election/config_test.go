package election_test

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/election"
)

// A setting of the environment that is not what it takes is refused with
// its name, its value and what it wants, before anything is started: a
// broker running with a limit nobody meant is worse than one that did not
// start.
func TestFromEnvRefusesBadSettings(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ name, value, want string }{
		{"IPC_PORT", "0", "port number"},
		{"IPC_PORT", "65536", "port number"},
		{"IPC_HOST", "127.0.0.1:9876", "without a scheme, a port"},
		{"IPC_HOST", "http://127.0.0.1", "without a scheme, a port"},
		{"IPC_HOST", " 127.0.0.1", "host name or an IP address"},
		{"IPC_HOST", "my host", "host name or an IP address"},
		{"IPC_HOST", "[::1]", "host name or an IP address"},
		{"IPC_RATE_LIMIT", "0", "above 0"},
		{"IPC_RATE_LIMIT", "NaN", "above 0"},
		{"IPC_RATE_LIMIT", "Inf", "above 0"},
		{"IPC_RATE_LIMIT", "-Inf", "above 0"},
		{"IPC_REGISTER_RATE", "nan", "above 0"},
		{"IPC_RATE_BURST", "1e20", "whole number"},
		{"IPC_INBOX_CAP", "-1", "whole number"},
		{"IPC_MAX_MESSAGE_BYTES", "99999999999999999999", "whole number"},
		{"IPC_MAX_MESSAGE_BYTES", "9223372036854775807", "1 GiB"},
		{"IPC_MAX_FRAME_BYTES", "9223372036854775807", "1 GiB"},
		// No frame could hold it: a frame is at most 1 GiB, 64 KiB
		// larger than the message limit.
		{"IPC_MAX_MESSAGE_BYTES", "1073741824", "1073676288"},
		{"IPC_LARGE_MESSAGE_BYTES", "0", "from 1"},
		{"IPC_SESSION_TTL", "-5m", "duration"},
		{"IPC_SESSION_TTL", "1ns", "1s or more"},
		{"IPC_HISTORY_RETENTION", "banana", "duration"},
		{"IPC_BROKER_IDLE", "0", "duration above 0"},
		{"IPC_BROKER_IDLE", "-1m", "duration above 0"},
		{"IPC_HISTORY_RETENTION", "1.5d", "30d"},
		{"IPC_NATS_REPLICAS", "2", "1, 3 or 5"},
	} {
		env := map[string]string{"IPC_DATA_DIR": dir, tc.name: tc.value}
		if tc.name == "IPC_NATS_REPLICAS" {
			env["IPC_STORE"] = "nats://127.0.0.1:4222"
		}
		_, err := election.FromEnv(func(k string) string { return env[k] })
		if err == nil {
			t.Errorf("%s=%s was taken", tc.name, tc.value)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, tc.name) || !strings.Contains(msg, tc.value) || !strings.Contains(msg, tc.want) {
			t.Errorf("%s=%s: %q; want it to name the setting, its value and %q", tc.name, tc.value, msg, tc.want)
		}
	}
	file := filepath.Join(dir, "a-file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := election.FromEnv(func(k string) string { return map[string]string{"IPC_DATA_DIR": file}[k] }); err == nil || !strings.Contains(err.Error(), "IPC_DATA_DIR") || !strings.Contains(err.Error(), "not a folder") {
		t.Errorf("IPC_DATA_DIR naming a file: %v; want an error naming IPC_DATA_DIR", err)
	}
	for _, host := range []string{"localhost", "::1", "127.0.0.1", "build-box.local", "my_host.lan."} {
		env := map[string]string{"IPC_DATA_DIR": dir, "IPC_HOST": host}
		if _, err := election.FromEnv(func(k string) string { return env[k] }); err != nil {
			t.Errorf("IPC_HOST=%s: %v", host, err)
		}
	}
	env := map[string]string{"IPC_DATA_DIR": dir, "IPC_RATE_LIMIT": "2.5", "IPC_RATE_BURST": "10", "IPC_SESSION_TTL": "90m"}
	cfg, err := election.FromEnv(func(k string) string { return env[k] })
	if err != nil || cfg.Limits.OpsPerSecond != 2.5 || cfg.Limits.OpsBurst != 10 {
		t.Errorf("good settings: %+v, %v", cfg.Limits, err)
	}
	// A long period is given in days, as --since takes it.
	env = map[string]string{"IPC_DATA_DIR": dir, "IPC_HISTORY_RETENTION": "30d", "IPC_SESSION_TTL": "2d", "IPC_BROKER_IDLE": "1d",
		"IPC_STORE": "nats://127.0.0.1:4222", "IPC_NATS_LEASE": "1d"}
	if cfg, err := election.FromEnv(func(k string) string { return env[k] }); err != nil ||
		cfg.Store.HistoryRetention != 30*24*time.Hour || cfg.SessionTTL != 48*time.Hour || cfg.BrokerIdle != 24*time.Hour || cfg.Cluster.LeaseTTL != 24*time.Hour {
		t.Errorf("periods in days: retention %v, session %v, idle %v, lease %v, %v; want 720h, 48h, 24h, 24h",
			cfg.Store.HistoryRetention, cfg.SessionTTL, cfg.BrokerIdle, cfg.Cluster.LeaseTTL, err)
	}
	env = map[string]string{"IPC_DATA_DIR": dir, "IPC_MAX_MESSAGE_BYTES": "1073676288", "IPC_MAX_FRAME_BYTES": "1073741824"}
	if cfg, err := election.FromEnv(func(k string) string { return env[k] }); err != nil || cfg.MessageLimit() != 1073676288 {
		t.Errorf("the largest message limit, with the largest frame: limit %d, %v", cfg.MessageLimit(), err)
	}
}

// A frame too small for the message limit is refused saying which of the
// two settings was left at its default and the frame to set: raising
// IPC_MAX_MESSAGE_BYTES alone past 16 MiB, the frame's default, is the
// usual way in, and the user set no IPC_MAX_FRAME_BYTES to look at.
// Setting the frame the error names is taken.
func TestFromEnvFrameTooSmallSaysWhatToSet(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		env  map[string]string
		want []string
	}{
		{map[string]string{"IPC_MAX_MESSAGE_BYTES": "100000000"},
			[]string{"IPC_MAX_FRAME_BYTES=16777216 (its default: it is not set)", "100000000 bytes (IPC_MAX_MESSAGE_BYTES)", "set IPC_MAX_FRAME_BYTES=100065536 or more"}},
		{map[string]string{"IPC_MAX_FRAME_BYTES": "100000"},
			[]string{"IPC_MAX_FRAME_BYTES=100000 is too small", "8388608 bytes (IPC_MAX_MESSAGE_BYTES's default)", "set IPC_MAX_FRAME_BYTES=8454144 or more"}},
	} {
		tc.env["IPC_DATA_DIR"] = dir
		_, err := election.FromEnv(func(k string) string { return tc.env[k] })
		if err == nil {
			t.Errorf("%v was taken", tc.env)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v: %q; want it to say %q", tc.env, err, w)
			}
		}
		// Do as it says.
		_, frame, _ := strings.Cut(tc.want[2], "=")
		tc.env["IPC_MAX_FRAME_BYTES"], _, _ = strings.Cut(frame, " ")
		if _, err := election.FromEnv(func(k string) string { return tc.env[k] }); err != nil {
			t.Errorf("%v, as the error asked: %v", tc.env, err)
		}
	}
}

// An IPC_DATA_DIR holding a variable that no shell expanded (Windows'
// %USERPROFILE% or $HOME in an assistant's JSON config) is the folder
// the user meant, not a folder of that name in each working folder; one
// that is not set is refused, naming it.
func TestFromEnvDataDirExpandsVariables(t *testing.T) {
	root := t.TempDir()
	t.Chdir(t.TempDir())
	env := map[string]string{"MESHES": root, "TEAM": "builders", "ProgramFiles(x86)": root}
	percent := filepath.Join(root, "mesh") // %MESHES%\mesh on Windows only
	if runtime.GOOS != "windows" {
		percent, _ = filepath.Abs("%MESHES%" + string(filepath.Separator) + "mesh")
	}
	sep := string(filepath.Separator)
	for value, want := range map[string]string{
		"$MESHES" + sep + "mesh":               filepath.Join(root, "mesh"),
		"${MESHES}" + sep + "${TEAM}":          filepath.Join(root, "builders"),
		"$env:MESHES" + sep + "$TEAM-2":        filepath.Join(root, "builders-2"),
		"%MESHES%" + sep + "mesh":              percent,
		"$MESHES" + sep + "100%" + sep + "$5":  filepath.Join(root, "100%", "$5"),
		"$MESHES" + sep + "${}" + sep + "a$":   filepath.Join(root, "${}", "a$"),
		"$MESHES" + sep + "${TEAM" + sep + "x": filepath.Join(root, "${TEAM", "x"),
		"$MESHES" + sep + "$TEAM.$TEAM" + sep:  filepath.Join(root, "builders.builders"),
	} {
		cfg, err := election.FromEnv(func(k string) string {
			if k == "IPC_DATA_DIR" {
				return value
			}
			return env[k]
		})
		if err != nil {
			t.Fatalf("IPC_DATA_DIR=%s: %v", value, err)
		}
		if cfg.DataDir != want {
			t.Errorf("IPC_DATA_DIR=%s: data folder %s, want %s", value, cfg.DataDir, want)
		}
	}
	for _, value := range []string{"$MESH_HOME/ipcmesh", "${MESH_HOME}", "$env:MESH_HOME"} {
		_, err := election.FromEnv(func(k string) string { return map[string]string{"IPC_DATA_DIR": value}[k] })
		if err == nil || !strings.Contains(err.Error(), "MESH_HOME is not set") || !strings.Contains(err.Error(), "IPC_DATA_DIR") {
			t.Errorf("IPC_DATA_DIR=%s with MESH_HOME unset: %v; want an error naming MESH_HOME and IPC_DATA_DIR", value, err)
		}
	}
}

// An IPC_DATA_DIR of "~/x" that no shell expanded (an assistant's JSON
// config, a quoted value, PowerShell) is x in the home folder, the same
// from every working folder, not a folder named "~" in each.
func TestFromEnvDataDirUnderHome(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("USERPROFILE", home)
	t.Chdir(t.TempDir())
	for value, want := range map[string]string{
		"~":                                    home,
		"~/mesh":                               filepath.Join(home, "mesh"),
		"~" + string(filepath.Separator) + "a": filepath.Join(home, "a"),
		"." + string(filepath.Separator) + "~mesh": filepath.Join(".", "~mesh"),
	} {
		cfg, err := election.FromEnv(func(k string) string { return map[string]string{"IPC_DATA_DIR": value}[k] })
		if err != nil {
			t.Fatalf("IPC_DATA_DIR=%s: %v", value, err)
		}
		want, _ = filepath.Abs(want)
		if cfg.DataDir != want {
			t.Errorf("IPC_DATA_DIR=%s: data folder %s, want %s", value, cfg.DataDir, want)
		}
	}
}

// The NATS files of cluster mode, named in an assistant's JSON config
// with a "~" no shell expanded, are the home folder's, as IPC_DATA_DIR is;
// "~user" stays as it is.
func TestFromEnvNATSFilesUnderHome(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("USERPROFILE", home)
	env := map[string]string{
		"IPC_DATA_DIR":   t.TempDir(),
		"IPC_STORE":      "nats://127.0.0.1:4222",
		"IPC_NATS_CREDS": "~/nats/mesh.creds",
		"IPC_NATS_CA":    "~nobody/ca.pem",
	}
	cfg, err := election.FromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(home, "nats", "mesh.creds"); cfg.Cluster.Creds != want {
		t.Errorf("IPC_NATS_CREDS=~/nats/mesh.creds is %s, want %s", cfg.Cluster.Creds, want)
	}
	if cfg.Cluster.CA != "~nobody/ca.pem" {
		t.Errorf("IPC_NATS_CA=~nobody/ca.pem is %s, want it as it is", cfg.Cluster.CA)
	}
}

// An IPC_DATA_DIR of "~bob/x" is bob's home folder in a shell, and a
// folder named "~bob" in the working folder taken as it is: another data
// folder, with another secret, for each folder a command runs in. It is
// refused, saying how to write what was meant, and nothing is made.
func TestFromEnvDataDirOtherUsersHome(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	work := t.TempDir()
	t.Chdir(work)
	for _, value := range []string{"~nobody/mesh", "~root", "~" + "mesh" + string(filepath.Separator) + "x"} {
		_, err := election.FromEnv(func(k string) string { return map[string]string{"IPC_DATA_DIR": value}[k] })
		if err == nil {
			t.Errorf("IPC_DATA_DIR=%s was taken; want it refused", value)
			continue
		}
		for _, want := range []string{"IPC_DATA_DIR=", value, "whole path", "~" + string(filepath.Separator)} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("IPC_DATA_DIR=%s: the error does not say %q: %v", value, want, err)
			}
		}
	}
	if entries, _ := os.ReadDir(work); len(entries) > 0 {
		t.Errorf("the working folder holds %v; want nothing made there", entries)
	}
}

// A URL's scheme is case-insensitive (RFC 3986, section 3.1):
// IPC_STORE=NATS://host:4222 names the cluster nats://host:4222 names,
// and is kept so, as the client writes the servers it discovers; the
// rest of the URL (a password among it) is kept as written. BBOLT is
// bbolt.
func TestFromEnvStoreSchemeInAnyCase(t *testing.T) {
	dir := t.TempDir()
	for value, want := range map[string]string{
		"NATS://127.0.0.1:4222":                      "nats://127.0.0.1:4222",
		"Nats://a:4222,TLS://User:PassWord@b:4222":   "nats://a:4222,tls://User:PassWord@b:4222",
		"nats://127.0.0.1:4222, NATS://127.0.0.1:42": "nats://127.0.0.1:4222,nats://127.0.0.1:42",
		"BBOLT": "",
		"bbolt": "",
	} {
		env := map[string]string{"IPC_DATA_DIR": dir, "IPC_STORE": value}
		cfg, err := election.FromEnv(func(k string) string { return env[k] })
		if err != nil {
			t.Errorf("IPC_STORE=%s: %v", value, err)
			continue
		}
		if url, _ := cfg.StoreURL(); url != want {
			t.Errorf("IPC_STORE=%s: the store is %q, want %q", value, url, want)
		}
	}
}

// A value with a space or a newline at an end (from a config file, or a
// copy) reads as the right one in the error, which would send its user to
// look for another mistake: the error says what is at its end. An
// IPC_DATA_DIR with one would name another folder (" /srv/mesh" one in
// the working folder), and is refused, making nothing.
func TestFromEnvValueWithWhitespace(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ name, value, says string }{
		{"IPC_PORT", "9877 ", `ends with " "`},
		{"IPC_HOST", " 127.0.0.1", `begins with " "`},
		{"IPC_INBOX_CAP", "100\n", `ends with "\n"`},
		{"IPC_RATE_LIMIT", "\t2.5", `begins with "\t"`},
		{"IPC_SESSION_TTL", "24h ", `ends with " "`},
		{"IPC_STORE", "bbolt\r\n", `ends with "\r\n"`},
		{"IPC_NATS_PREFIX", "team ", `ends with " "`},
	} {
		env := map[string]string{"IPC_DATA_DIR": dir, tc.name: tc.value}
		_, err := election.FromEnv(func(k string) string { return env[k] })
		if err == nil || !strings.HasPrefix(err.Error(), tc.name+"=") || !strings.Contains(err.Error(), "the value "+tc.says+": remove it") {
			t.Errorf("%s=%q: %v; want an error naming it that says it %s", tc.name, tc.value, err, tc.says)
		}
	}
	work := t.TempDir()
	t.Chdir(work)
	for _, value := range []string{" " + dir, dir + " ", dir + "\n"} {
		_, err := election.FromEnv(func(k string) string { return map[string]string{"IPC_DATA_DIR": value}[k] })
		if err == nil || !strings.Contains(err.Error(), "IPC_DATA_DIR=") || !strings.Contains(err.Error(), "remove it") {
			t.Errorf("IPC_DATA_DIR=%q: %v; want it refused, saying what to remove", value, err)
		}
	}
	if entries, _ := os.ReadDir(work); len(entries) > 0 {
		t.Errorf("the working folder holds %v; want nothing made there", entries)
	}
	// Spaces around the servers of a cluster are taken off, at either end.
	for _, value := range []string{" nats://127.0.0.1:4222", "nats://127.0.0.1:4222 "} {
		env := map[string]string{"IPC_DATA_DIR": dir, "IPC_STORE": value}
		if cfg, err := election.FromEnv(func(k string) string { return env[k] }); err != nil || cfg.Cluster.URL != "nats://127.0.0.1:4222" {
			t.Errorf("IPC_STORE=%q: %q, %v", value, cfg.Cluster.URL, err)
		}
	}
}
