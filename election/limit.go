package election

import (
	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/internal/human"
	"github.com/ipcmesh/ipcmesh/store"
)

// MessageLimit is the longest message or shared value cfg allows, the
// limit the broker applies (IPC_MAX_MESSAGE_BYTES).
func (cfg Config) MessageLimit() int {
	if n := cfg.Store.MaxMessageBytes; n > 0 {
		return n
	}
	return store.DefaultMaxMessageBytes
}

// fits refuses content over the message limit before it is sent. Sent, it
// would meet the frame limit first, whose number (IPC_MAX_FRAME_BYTES, 16
// MiB) is not the one a sender can act on. what names the content ("the
// message"), instead says what to do with it.
func (p *Peer) fits(what string, n int, instead string) error {
	limit := p.cfg.MessageLimit()
	if n <= limit {
		return nil
	}
	return ipcmesh.Errorf(ipcmesh.CodeTooLarge, "%s is %s, over the message limit of %s (IPC_MAX_MESSAGE_BYTES); %s. Nothing was sent",
		what, human.Size(n), human.Size(limit), instead)
}

// largeAdvice is how to pass on a message too long for the mesh.
const largeAdvice = "split it into several messages, or write it to a file and send the file's path"
