//go:build unix

package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestBrokerFaceOutlastsAConnectionFlood opens more idle connections
// without a key to `ipcmesh broker --http` than its face holds, each after
// a GET /health: the oldest is closed, and a key holder and the mesh's
// own peers are served. Before the bound, such a flood ran the broker's
// process out of descriptors, and the whole mesh stopped.
func TestBrokerFaceOutlastsAConnectionFlood(t *testing.T) {
	const flood = 1100 // the face holds 1,024 without a key
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil || lim.Cur < 4*flood {
		t.Skipf("needs %d descriptors in this process and the broker's; RLIMIT_NOFILE is %d (%v)", 4*flood, lim.Cur, err)
	}
	m := newMesh(t)
	_, base := m.startBrokerFace()
	host := strings.TrimPrefix(base, "http://")
	m.mustRun("register", "builder")
	key := strings.TrimSpace(m.mustRun("key", "create", "human").stdout)

	conns := make([]net.Conn, 0, flood)
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	for i := range flood {
		c, err := net.Dial("tcp", host)
		if err != nil {
			t.Fatalf("connection %d of the flood: %v", i+1, err)
		}
		conns = append(conns, c)
		if err := health(c, host); err != nil {
			t.Fatalf("connection %d of the flood: %v", i+1, err)
		}
	}
	c := &http.Client{Timeout: runTimeout}
	if code := api(t, c, "POST", base+"/api/v1/messages", key, map[string]string{"to": "builder", "content": "through the flood"}, nil); code != http.StatusCreated {
		t.Fatalf("a key holder's send during the flood: status %d, want 201", code)
	}
	m.mustRun("send", "--as", "builder", "human", "and back")
	if got := m.check("--as", "builder"); len(got.Messages) != 1 || got.Messages[0].Content != "through the flood" {
		t.Fatalf("builder's check during the flood = %+v", got.Messages)
	}
	first := conns[0]
	first.SetReadDeadline(time.Now().Add(runTimeout))
	if _, err := first.Read(make([]byte, 1)); errors.Is(err, os.ErrDeadlineExceeded) || err == nil {
		t.Errorf("the flood's first connection, after %d more: read %v, want it closed", flood-1, err)
	}
	if err := health(conns[flood-1], host); err != nil {
		t.Errorf("the flood's last connection: %v", err)
	}
}

// health asks for /health on c and reads the answer.
func health(c net.Conn, host string) error {
	c.SetDeadline(time.Now().Add(runTimeout))
	defer c.SetDeadline(time.Time{})
	if _, err := fmt.Fprintf(c, "GET /health HTTP/1.1\r\nHost: %s\r\n\r\n", host); err != nil {
		return err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /health: %s", resp.Status)
	}
	return nil
}
