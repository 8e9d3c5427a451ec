package gateway

import (
	"fmt"
	"time"

	"github.com/ipcmesh/ipcmesh"
)

// maxOpenPerKey is how many requests and streams acting as a name one
// key may have in progress at once. The rate limit bounds how fast a key
// opens them, not how many stay open: an event stream, an /sse stream or
// a long wait lasts as long as its client keeps its connection, and each
// holds a connection, a file descriptor and some 40 KiB of the face. So
// one key opening streams at its rate and never closing them took 120 MB
// in a minute, and in some more the process's file descriptors: then the
// face took no connection from anyone, nor the broker of "ipcmesh broker
// --http" from any peer. A browser tab holds one stream and a request or
// two; a script sending in parallel, a few more.
const maxOpenPerKey = 64

// tooManyOpenRetry is the Retry-After of a request refused for its key's
// requests in progress: one of them may end by then.
const tooManyOpenRetry = time.Second

// openLocked counts a new use of the key with id, or refuses it when the
// key has maxOpenPerKey in progress already. m.mu is held.
func (m *sessions) openLocked(id string) error {
	if m.open[id] >= maxOpenPerKey {
		return ipcmesh.RateLimited(fmt.Sprintf("this key has %d requests and streams in progress, the most the face serves for one key at once: "+
			"close the event streams and /sse streams it no longer reads (each browser tab of the page holds one), or wait for a request to end", maxOpenPerKey),
			tooManyOpenRetry)
	}
	m.open[id]++
	return nil
}

// closedLocked uncounts a use of the key with id that ended. m.mu is held.
func (m *sessions) closedLocked(id string) {
	if m.open[id]--; m.open[id] <= 0 {
		delete(m.open, id)
	}
}
