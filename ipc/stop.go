package ipc

import (
	"crypto/hmac"
	"encoding/json"

	"github.com/ipcmesh/ipcmesh"
)

// StopRequest asks the broker to stop and hand over. Key is the stop key
// the broker's owner wrote into the data folder it serves (election keeps
// it in broker.json): the secret proves a connection is a peer of the
// mesh, which may be on another host or another user's; the key proves it
// can read the broker's data folder, as only the user who could kill the
// broker anyway can.
type StopRequest struct {
	Key string `json:"key"`
}

// stop tells the broker's owner to stop it and hand over, as SIGTERM
// does: the answer is queued before the owner's Shutdown begins, which
// then lets the requests being handled finish and tells every connection
// to elect the next broker. A broker asked twice answers both: it is
// stopping either way.
func (b *Broker) stop(c *conn, _ string, body json.RawMessage) (any, error) {
	var req StopRequest
	if err := decode(OpStop, body, &req); err != nil {
		return nil, err
	}
	// A key can be guessed here as a name can at register: the same
	// limit per connection, on top of every op's.
	if ok, retry := b.regs.Allow(c.id); !ok {
		return nil, ipcmesh.RateLimited("too many stop, register or resume attempts on this connection", retry)
	}
	if b.cfg.Stop == nil || b.cfg.StopKey == "" {
		return nil, ipcmesh.Errorf(ipcmesh.CodeUnsupported, "this broker (pid %d) is hosted by a process that cannot be asked to stop it: end that process instead (ipcmesh stop signals it)", b.info.PID)
	}
	if !hmac.Equal([]byte(req.Key), []byte(b.cfg.StopKey)) {
		return nil, ipcmesh.Errorf(ipcmesh.CodeUnauthorized, "stop: the key is not this broker's: it is the stop_key of broker.json in the data folder this broker serves (%s), which ipcmesh stop run with that IPC_DATA_DIR reads", b.info.DataDir)
	}
	b.stopped.Do(func() {
		b.log.Info("asked to stop (ipcmesh stop): handing over", "conn", c.id)
		b.cfg.Stop()
	})
	return nil, nil
}
