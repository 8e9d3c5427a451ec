package main

import (
	"archive/tar"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ipcmesh/ipcmesh/internal/testbin"
	"github.com/ipcmesh/ipcmesh/ipc"
)

// TestDataFolderOfTheFirstRelease opens a data folder written by the
// first build of ipcmesh (commit f3badd5, the oldest that speaks today's
// handshake): its secret, its session tokens, its store, from before
// conversations and words were indexed, and a large message's file. bob
// had read the first of alice's three messages then. Today's build must
// resume bob, keep the two others unread, index all three for history
// and search, and fetch the large one whole.
func TestDataFolderOfTheFirstRelease(t *testing.T) {
	t.Parallel()
	m := newMesh(t)
	untar(t, filepath.Join("testdata", "datadir-first.tar.gz"), m.dir)
	const (
		read   = "ee966219081046c484fcf23ecb9e408c"
		unread = "cbb39d762fc89480d10ba65e2c0e775a"
		large  = "594dcba454eeca3c2f8ac136b753a995"
	)
	r := m.check("--as", "bob", "--peek")
	if len(r.Messages) != 2 || r.Messages[0].ID != unread || r.Messages[1].ID != large {
		t.Fatalf("bob's unread mail is %+v, want %s and %s as the first release left it", r.Messages, unread, large)
	}
	wantIn(t, "fetch of the large message", m.mustRun("fetch", "--as", "bob", large).stdout, "line 1\n", "line 20000\n")
	var h ipc.HistoryResult
	testbin.Eventually(t, runTimeout, "the first release's messages to be indexed for history", func() bool {
		m.mustJSON(&h, "history", "--as", "bob", "--with", "alice", "--json")
		return len(h.Messages) == 3
	})
	if h.Messages[2].ID != read {
		t.Errorf("history's oldest message is %s, want %s", h.Messages[2].ID, read)
	}
	testbin.Eventually(t, runTimeout, "the first release's messages to be indexed for search", func() bool {
		return strings.Contains(m.mustRun("search", "--as", "bob", "upgrade").stdout, read)
	})
}

// untar unpacks the gzipped tar file archive into dir: regular files and
// folders only, each inside dir.
func untar(t *testing.T, archive, dir string) {
	t.Helper()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", archive, err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatalf("%s: %v", archive, err)
		}
		path := filepath.Join(dir, filepath.FromSlash(h.Name))
		if !strings.HasPrefix(path, filepath.Clean(dir)) {
			t.Fatalf("%s: %s is outside the folder", archive, h.Name)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(path, 0o700)
		case tar.TypeReg:
			var data []byte
			if data, err = io.ReadAll(tr); err == nil {
				err = os.WriteFile(path, data, 0o600)
			}
		}
		if err != nil {
			t.Fatalf("%s: %s: %v", archive, h.Name, err)
		}
	}
}
