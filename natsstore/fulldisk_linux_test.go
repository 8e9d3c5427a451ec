package natsstore_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/natsmesh"
	"github.com/ipcmesh/ipcmesh/natsstore"
	"github.com/ipcmesh/ipcmesh/store"
)

// The variables that make TestViewWithoutRoomMissesNothing's child play
// host B: the cluster's URL, the test's prefix and B's data folder.
const (
	fullURL    = "IPCMESH_NATS_FULL_URL"
	fullPrefix = "IPCMESH_NATS_FULL_PREFIX"
	fullDir    = "IPCMESH_NATS_FULL_DIR"
)

// A view that finds no room on its disk for a message another host stored
// (here a file size limit below the message's large body) stops applying
// the log, and has the message once opened again with room: it never
// passes over it. Before, the full disk's error, answered as unavailable,
// counted as a refusal of the write that every view makes alike, and the
// view went on without the message, for good.
func TestViewWithoutRoomMissesNothing(t *testing.T) {
	if url := os.Getenv(fullURL); url != "" {
		hostWithoutRoom(t, url)
		return
	}
	p := natsmesh.Prefix(t, &shared)
	a := openHost(t, p, nil)
	mustAppend(t, a, draft("m0", "alice", "bob", "before"))
	dirB := t.TempDir()
	child := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestViewWithoutRoomMissesNothing$", "-test.count=1", "-test.v")
	child.Env = append(os.Environ(), fullURL+"="+shared.Get(t).URL(), fullPrefix+"="+p, fullDir+"="+dirB)
	stdin, err := child.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	child.Stderr = os.Stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	var said strings.Builder
	lines := bufio.NewScanner(out)
	for lines.Scan() && lines.Text() != "no room" {
		said.WriteString(lines.Text() + "\n")
	}
	if lines.Err() != nil || lines.Text() != "no room" {
		t.Fatalf("host B ended before it was short of room (%v):\n%s", lines.Err(), said.String())
	}
	mustAppend(t, a, draft("big", "alice", "bob", strings.Repeat("a large body ", 20000)))
	mustAppend(t, a, draft("m1", "alice", "bob", "after"))
	stdin.Close()
	for lines.Scan() {
		said.WriteString(lines.Text() + "\n")
	}
	if err := child.Wait(); err != nil {
		t.Fatalf("host B failed (%v):\n%s", err, said.String())
	}

	t.Logf("host B said:\n%s", said.String())
	b := reopen(t, natsstore.Options{URL: shared.Get(t).URL(), Prefix: p, Store: store.Options{Dir: dirB}})
	eventually(t, "B's view opened again has m1, sent after big", func() bool {
		_, found, err := b.Lookup("m1")
		return err == nil && found
	})
	if _, body, err := b.Get("bob", "big"); err != nil || !strings.HasPrefix(body, "a large body ") {
		t.Fatalf("B's view, opened again with room, lacks the large message: %v", err)
	}
}

// hostWithoutRoom is host B of TestViewWithoutRoomMissesNothing: it opens
// its view, says "no room" once no file may grow past 64 KiB, and once
// its stdin closes, sends a message of its own.
func hostWithoutRoom(t *testing.T, url string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	o := natsstore.Options{URL: url, Prefix: os.Getenv(fullPrefix), Store: store.Options{Dir: os.Getenv(fullDir)}}
	s, err := natsstore.Open(ctx, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: 64 << 10, Max: lim.Max}); err != nil {
		t.Fatal(err)
	}
	fmt.Println("no room")
	io.Copy(io.Discard, os.Stdin)
	// Applied after big and m1, a write of B's own finds the view stopped
	// if big did not fit, and is answered only if the view passed it by.
	_, err = s.Append(ctx, []store.Draft{draft("m2", "carol", "bob", "from B")})
	t.Logf("B's own send after big: %v", err)
}
