package cluster

import (
	"errors"
	"fmt"
	"path/filepath"
)

// lockName is the file in a node's data folder that the running node
// holds locked. A NATS server keeps no lock of its own on its JetStream
// store: a second server started on the folder of a running one writes
// the same files, and both stores come out damaged.
const lockName = "node.lock"

// ErrInUse is the error of a node started on the data folder of a node
// that is running.
var ErrInUse = errors.New("in use by another NATS node")

// errLocked is what lockFile returns when another process, or another
// node of this one, holds the lock.
var errLocked = errors.New("locked")

// lockDir holds dir for one node until release is called. The lock is the
// operating system's, so it ends with the process that held it, however
// it ended: a node killed with its host leaves no stale lock behind.
func lockDir(dir string) (release func(), err error) {
	path := filepath.Join(dir, lockName)
	release, err = lockFile(path)
	if errors.Is(err, errLocked) {
		return nil, fmt.Errorf("its data folder %s is %w (an ipcmesh cluster, or a broker with --nats-node, of the same folder): stop it first, or give this node a folder of its own", dir, ErrInUse)
	}
	if err != nil {
		return nil, fmt.Errorf("lock its data folder with %s: %w", path, err)
	}
	return release, nil
}
