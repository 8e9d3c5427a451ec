package cli

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/testbin"
)

// writeCert writes a self-signed certificate for 127.0.0.1, valid from
// notBefore to notAfter, and its key into dir, as name.crt and name.key.
func writeCert(t *testing.T, dir, name string, notBefore, notAfter time.Time) (certFile, keyFile string) {
	t.Helper()
	return testbin.SelfSigned(t, notBefore, notAfter).Write(t, dir, name)
}

// checkFace runs the checks of serve's flags on a loopback face with
// this certificate and key.
func checkFace(certFile, keyFile string) error {
	f := faceFlags{addr: "127.0.0.1:0", cert: certFile, key: keyFile}
	return f.check(func(string) string { return "" })
}

// A certificate and key that do not load are named by the flag that gave
// the wrong file, with what that file should hold: crypto/tls's words
// ("private key does not match public key") name neither.
func TestFaceTLSFilesNamed(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	cert, key := writeCert(t, dir, "face", now.Add(-time.Hour), now.Add(24*time.Hour))
	_, otherKey := writeCert(t, dir, "other", now.Add(-time.Hour), now.Add(24*time.Hour))
	empty := filepath.Join(dir, "empty.pem")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := checkFace(cert, key); err != nil {
		t.Fatalf("a certificate and its key: %v", err)
	}
	for _, c := range []struct {
		name, cert, key string
		want            []string
	}{
		{"the key of another certificate", cert, otherKey, []string{"--tls-key " + otherKey, "--tls-cert " + cert, "give the key made together with that certificate"}},
		{"the files swapped", key, cert, []string{"--tls-cert " + key, "--tls-key " + cert, "swap"}},
		{"a folder", dir, key, []string{"--tls-cert " + dir + " is a folder", "give the file"}},
		{"no such file", filepath.Join(dir, "nope.pem"), key, []string{"--tls-cert " + filepath.Join(dir, "nope.pem"), "no such file", "give the file"}},
		{"an empty key file", cert, empty, []string{"--tls-key " + empty + " is empty", "private key"}},
		{"a key as both", key, key, []string{"--tls-cert " + key + " holds no PEM certificate", "give the certificate file"}},
		{"a certificate as both", cert, cert, []string{"--tls-key " + cert + " holds no PEM private key", "give the certificate's key file"}},
	} {
		err := checkFace(c.cert, c.key)
		if err == nil {
			t.Errorf("%s: served", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %v\nwant it to say %q", c.name, err, w)
			}
		}
	}
}

// An expired certificate is refused before anything is served, with its
// date: every client would refuse it, each far from the cause.
func TestFaceRefusesAnExpiredCertificate(t *testing.T) {
	dir := t.TempDir()
	cert, key := writeCert(t, dir, "old", time.Now().Add(-48*time.Hour), time.Date(2020, 1, 2, 3, 4, 0, 0, time.UTC))
	err := checkFace(cert, key)
	if err == nil {
		t.Fatal("an expired certificate was taken")
	}
	for _, w := range []string{"--tls-cert " + cert, "expired on 2020-01-02 03:04 UTC", "make a new one"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%v\nwant it to say %q", err, w)
		}
	}
}

// An --allow-host that no Host header can hold (a URL, a path, a
// wildcard, nothing) is refused with what to give instead: taken, it
// matched no request, and the face refused the host it was told to
// accept.
func TestFaceRefusesHostsThatMatchNothing(t *testing.T) {
	for _, h := range []string{"mesh.example.com", "Mesh.Example.Com", "mesh.example.com:8443", "[::1]:8080", "10.0.0.5"} {
		f := faceFlags{addr: "127.0.0.1:0", hosts: listFlag{h}}
		if err := f.check(func(string) string { return "" }); err != nil {
			t.Errorf("--allow-host %q: %v", h, err)
		}
	}
	for h, want := range map[string]string{
		"https://mesh.example.com": "give its host name alone, mesh.example.com",
		"mesh.example.com/":        "give one alone",
		"*.example.com":            "name each host",
		"":                         "give a host name",
	} {
		f := faceFlags{addr: "127.0.0.1:0", hosts: listFlag{h}}
		err := f.check(func(string) string { return "" })
		if err == nil || !strings.Contains(err.Error(), "--allow-host") || !strings.Contains(err.Error(), want) {
			t.Errorf("--allow-host %q: %v\nwant an error naming the flag and saying %q", h, err, want)
		}
	}
}

// A TLS key or an access key file that other users can read is warned
// of, with the mode and the chmod that cures it; one only its owner
// reads is not.
func TestSecretFilesReadableByOthersWarned(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("modes mean nothing on Windows")
	}
	dir := t.TempDir()
	now := time.Now()
	cert, key := writeCert(t, dir, "face", now.Add(-time.Hour), now.Add(24*time.Hour))
	keyFile := filepath.Join(dir, "access-key")
	if err := os.WriteFile(keyFile, []byte("ipk1_0123456789abcdef_0123456789abcdef0123456789abcdef\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	warnings := func() (face, bridge string) {
		t.Helper()
		var fw, bw strings.Builder
		f := faceFlags{addr: "127.0.0.1:0", cert: cert, key: key}
		if err := f.check(func(string) string { return "" }); err != nil {
			t.Fatal(err)
		}
		f.warn(&fw)
		if _, err := remoteKey(Env{Stderr: &bw, Getenv: func(string) string { return "" }}, keyFile); err != nil {
			t.Fatal(err)
		}
		return fw.String(), bw.String()
	}
	if face, bridge := warnings(); face != "" || bridge != "" {
		t.Errorf("files of mode 0600 warned of: %q, %q", face, bridge)
	}
	for _, f := range []string{key, keyFile} {
		if err := os.Chmod(f, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	face, bridge := warnings()
	for _, c := range []struct{ got, want string }{{face, "--tls-key " + key}, {bridge, "--key-file " + keyFile}} {
		got, want := c.got, c.want
		if !strings.Contains(got, want+" can be read by other users") || !strings.Contains(got, "mode 0644") || !strings.Contains(got, "chmod 600") {
			t.Errorf("a file of mode 0644: %q\nwant a warning naming %s, its mode and chmod 600", got, want)
		}
		if strings.Contains(got, "ipk1_") {
			t.Errorf("the warning holds the key: %q", got)
		}
	}
}
