package store

import (
	"fmt"
	"os"
	"syscall"
	"testing"

	"github.com/ipcmesh/ipcmesh"
)

// bbolt says why it could not grow the database file in words only
// ("file resize error: %s"): a file size limit met there is a full disk
// all the same. Words elsewhere are no full disk: a refusal may quote
// what a client sent.
func TestNoRoomReadsBboltsWords(t *testing.T) {
	grow := fmt.Errorf("file resize error: %s", &os.PathError{Op: "truncate", Path: "ipcmesh.db", Err: syscall.EFBIG})
	if got := ipcmesh.CodeOf(noRoom("data", grow)); got != ipcmesh.CodeUnavailable {
		t.Errorf("bbolt's failure to grow the file past a size limit is %q, want unavailable", got)
	}
	quoted := ipcmesh.Errorf(ipcmesh.CodeNotFound, "nothing is shared under the key %q", syscall.ENOSPC.Error())
	if got := ipcmesh.CodeOf(noRoom("data", quoted)); got != ipcmesh.CodeNotFound {
		t.Errorf("a refusal quoting %q is %q, want not_found", syscall.ENOSPC.Error(), got)
	}
}
