package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ipcmesh/ipcmesh/election"
)

func TestRemoteKey(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "key")
	if err := os.WriteFile(file, []byte("\n ipk1_from_file \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte(" \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := func(key string) Env {
		return Env{Getenv: func(k string) string {
			if k == "IPC_KEY" {
				return key
			}
			return ""
		}}
	}
	for _, tc := range []struct {
		env, file, want, wantErr string
	}{
		{env: " ipk1_from_env\n", want: "ipk1_from_env"},
		{env: "ipk1_from_env", file: file, want: "ipk1_from_file"}, // the flag wins
		{wantErr: "set IPC_KEY or pass --key-file"},
		{env: "  ", wantErr: "set IPC_KEY or pass --key-file"},
		{file: empty, wantErr: "is empty"},
		{file: filepath.Join(dir, "missing"), wantErr: "read the key"},
	} {
		got, err := remoteKey(env(tc.env), tc.file)
		switch {
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("remoteKey(IPC_KEY=%q, %q) = %q, %v; want an error saying %q", tc.env, tc.file, got, err, tc.wantErr)
		case tc.wantErr == "" && (err != nil || got != tc.want):
			t.Errorf("remoteKey(IPC_KEY=%q, %q) = %q, %v; want %q", tc.env, tc.file, got, err, tc.want)
		}
	}
}

func TestRemoteClient(t *testing.T) {
	if c, err := remoteClient("", ""); c != nil || err != nil {
		t.Errorf("remoteClient without a CA = %v, %v; want the default client (nil)", c, err)
	}
	bad := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(bad, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := remoteClient(bad, "--ca"); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("remoteClient(%s) error %v, want one saying it holds no certificate", bad, err)
	}
}

func TestMCPFlagsNeedRemote(t *testing.T) {
	err := runMCP(t.Context(), Env{Getenv: func(string) string { return "" }}, []string{"--key-file", "k"})
	if err == nil || !strings.Contains(err.Error(), "--remote") {
		t.Errorf("mcp --key-file without --remote: %v, want a usage error naming --remote", err)
	}
}

// A CA file given by IPC_CA_FILE that is not there, or holds no
// certificate, is refused naming IPC_CA_FILE: the user gave no --ca.
func TestRemoteCAFromTheEnvironmentIsNamed(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(bad, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "gone.pem")
	for file, want := range map[string]string{
		missing:  "IPC_CA_FILE=" + missing + ": no such file: check the path IPC_CA_FILE gives",
		"ca.pem": "IPC_CA_FILE=ca.pem: no such file in ",
		bad:      "given by IPC_CA_FILE, holds no PEM certificate",
	} {
		env := map[string]string{"IPC_KEY": "ipk1_x", "IPC_CA_FILE": file}
		e := Env{Getenv: func(k string) string { return env[k] }}
		err := runMCP(t.Context(), e, []string{"--remote", "https://127.0.0.1:1"})
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "--ca") {
			t.Errorf("IPC_CA_FILE=%s: %v; want an error saying %q, and nothing of --ca", file, err, want)
		}
	}
}

// An assistant starts `ipcmesh mcp --remote` in a folder of its own, so a
// relative --key-file or --ca that is not there must say where it was
// looked for and that an absolute path is wanted: that error is all the
// assistant's MCP log shows of a bridge that did not start.
func TestRemoteRelativePathsSayWhereTheyWereLookedFor(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	noEnv := Env{Getenv: func(string) string { return "" }}
	_, keyErr := remoteKey(noEnv, ".ipcmesh-key")
	_, caErr := remoteClient("cert.pem", "--ca")
	for flag, got := range map[string]error{"--key-file": keyErr, "--ca": caErr} {
		if got == nil || !strings.Contains(got.Error(), wd) || !strings.Contains(got.Error(), "absolute path") || !strings.Contains(got.Error(), flag) {
			t.Errorf("%s with a relative path not in %s: %v; want an error naming the flag, the folder and asking for an absolute path", flag, wd, got)
		}
	}
	// An absolute path that is not there names its flag too.
	missing := filepath.Join(dir, "gone", "key")
	_, keyErr = remoteKey(noEnv, missing)
	_, caErr = remoteClient(missing, "--ca")
	for flag, got := range map[string]error{"--key-file": keyErr, "--ca": caErr} {
		if got == nil || !strings.Contains(got.Error(), flag+" "+missing+": no such file") {
			t.Errorf("%s %s, not there: %v; want an error naming the flag and the path", flag, missing, got)
		}
	}
	// A relative path that is there is read as before.
	if err := os.WriteFile(filepath.Join(dir, "key"), []byte("ipk1_here\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if key, err := remoteKey(noEnv, "key"); err != nil || key != "ipk1_here" {
		t.Errorf("remoteKey(key) in its folder = %q, %v", key, err)
	}
}

// A JSON config passes "~/..." on as it is: the bridge reads it from the
// home folder, as the shell the README's commands run in would.
func TestRemotePathsFromTheHomeFolder(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("USERPROFILE", home)
	t.Chdir(t.TempDir())
	if err := os.WriteFile(filepath.Join(home, ".ipcmesh-key"), []byte("ipk1_home\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	noEnv := Env{Getenv: func(string) string { return "" }}
	if key, err := remoteKey(noEnv, "~/.ipcmesh-key"); err != nil || key != "ipk1_home" {
		t.Errorf("remoteKey(~/.ipcmesh-key) = %q, %v; want the key in the home folder", key, err)
	}
	if _, err := remoteKey(noEnv, "~nobody/.ipcmesh-key"); err == nil {
		t.Error("remoteKey(~nobody/...) read a file; want ~user left as it is, and refused")
	}
	if got := election.ExpandHome("~"); got != home {
		t.Errorf("ExpandHome(~) = %q, want %q", got, home)
	}
}

// A --key-file or --ca that is a folder, or that cannot be read, names
// the setting that gave it and what to give instead: the system's "read
// DIR: is a directory" named neither.
func TestRemotePathsThatAreFolders(t *testing.T) {
	dir := t.TempDir()
	noEnv := Env{Getenv: func(string) string { return "" }}
	_, keyErr := remoteKey(noEnv, dir)
	_, caErr := remoteClient(dir, "--ca")
	_, envErr := remoteClient(dir, "IPC_CA_FILE")
	for from, got := range map[string]error{"--key-file " + dir: keyErr, "--ca " + dir: caErr, "IPC_CA_FILE=" + dir: envErr} {
		if got == nil || !strings.Contains(got.Error(), from+" is a folder") || !strings.Contains(got.Error(), "the file itself") {
			t.Errorf("%s: %v; want an error naming the setting and that it is a folder", from, got)
		}
	}
}
