package auth

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/internal/untrusted"
)

// FuzzKeyringFiles gives a keyring a sessions folder whose token file
// and current-name file hold arbitrary bytes: a disk that lost part of a
// file, a hand edit, a copy from elsewhere. The token file is either the
// name's own (builder.token) or one written before file names kept case
// apart (Builder.token for Builder), which on a file system that ignores
// case may be another name's file. What the keyring reads from them is
// what it could have written, or an error:
//
//   - Current returns the name the file holds, space around it trimmed,
//     when it is a valid name, and otherwise an error that names the
//     file;
//   - Load returns the token the file holds when it is one Keep would
//     write (at most 512 token characters) and its payload names no other
//     name; a token of another name, or a file before case was kept apart
//     whose token does not show it is the name's own, is as no token
//     (fs.ErrNotExist), and is moved to the name's own file only when it
//     does; anything else in the name's own file is an error that names
//     the file and says to register again. A token that can never work
//     would otherwise go to the broker, whose refusal names no file.
//
// Every error is one line of plain text.
//
//	go test -run '^$' -fuzz '^FuzzKeyringFiles$' -fuzztime 60s ./auth/
func FuzzKeyringFiles(f *testing.F) {
	// Seeds: testdata/fuzz/FuzzKeyringFiles.
	f.Fuzz(func(t *testing.T, token, current []byte, legacy bool) {
		k := Keyring{Dir: t.TempDir()}
		sessions := filepath.Join(k.Dir, "sessions")
		if err := os.Mkdir(sessions, 0o700); err != nil {
			t.Fatal(err)
		}
		name, file := "builder", "builder.token"
		if legacy {
			name, file = "Builder", "Builder.token"
		}
		path := filepath.Join(sessions, file)
		curPath := filepath.Join(sessions, currentFile)
		for p, b := range map[string][]byte{path: token, curPath: current} {
			if err := os.WriteFile(p, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}

		cur, err := k.Current()
		if want := strings.TrimSpace(string(current)); ipcmesh.ValidateName(want) == nil {
			if err != nil || cur != want {
				t.Fatalf("current file %q: Current = %q, %v; want %q", current, cur, err, want)
			}
		} else {
			if err == nil {
				t.Fatalf("current file %q: Current = %q, which is no name", current, cur)
			}
			wantPlainError(t, err, curPath)
		}

		got, err := k.Load(name)
		tt := strings.TrimSpace(string(token))
		wellFormed := tt != "" && len(tt) <= maxTokenLen && tokenChars(tt)
		owner, named := tokenName(tt)
		switch {
		case legacy && wellFormed && named && owner == name:
			// Its own token, from before case was kept apart: read, and
			// kept under the name's own file from now on.
			if err != nil || got != tt {
				t.Fatalf("legacy file %q: Load = %q, %v; want its token", token, got, err)
			}
			own, rerr := os.ReadFile(filepath.Join(sessions, ipcmesh.FileName(name)+".token"))
			if rerr != nil || string(own) != tt+"\n" {
				t.Fatalf("legacy file %q: the name's own file holds %q (%v), want its token", token, own, rerr)
			}
		case legacy || wellFormed && named && owner != name:
			if !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("token file %s holds %q, another name's or none shown to be %s's: Load = %q, %v; want none (fs.ErrNotExist)", file, token, name, got, err)
			}
		case wellFormed:
			if err != nil || got != tt {
				t.Fatalf("token file %q: Load = %q, %v; want %q", token, got, err, tt)
			}
		default:
			if err == nil {
				t.Fatalf("token file %q: Load = %q, which Keep would not write", token, got)
			}
			if errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("token file %q: Load says there is none (%v), and it is there, damaged", token, err)
			}
			wantPlainError(t, err, path)
			if !strings.Contains(err.Error(), "register") {
				t.Fatalf("token file %q: the error %q does not say to register again", token, err)
			}
		}
		if b, rerr := os.ReadFile(path); rerr != nil || !bytes.Equal(b, token) {
			t.Fatalf("token file %q became %q (%v)", token, b, rerr)
		}
	})
}

// wantPlainError fails t unless err names path, in one line of plain text
// of at most 500 bytes besides the path.
func wantPlainError(t *testing.T, err error, path string) {
	t.Helper()
	msg := err.Error()
	if !strings.Contains(msg, path) || msg != untrusted.Line(msg) || len(msg)-len(path) > 500 {
		t.Fatalf("the error %q does not name %s in one line of plain text within 500 bytes", msg, path)
	}
}
