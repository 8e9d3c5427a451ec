package election

import (
	"fmt"

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
// message"), instead says what to do with it, and nothing what the refusal
// leaves undone ("Nothing was sent").
//
// It refuses content that is not UTF-8 too: the mesh carries text, in
// JSON, and a byte that is not UTF-8 would arrive as U+FFFD, so that a
// file shared or sent from stdin came back changed, its sender told "ok".
func (p *Peer) fits(what, content, instead, nothing string) error {
	if at := ipcmesh.NotUTF8(content); at >= 0 {
		return ipcmesh.Errorf(ipcmesh.CodeBadRequest, "%s is not UTF-8 text (byte %d is 0x%02X), and the mesh carries text: it would arrive with such bytes replaced. Convert text to UTF-8 (iconv -t UTF-8), or send binary data as base64 (base64 FILE | ipcmesh share KEY -). %s",
			what, at+1, content[at], nothing)
	}
	limit := p.cfg.MessageLimit()
	if n := len(content); n > limit {
		size, most := human.Size(n), human.Size(limit)
		if size == most {
			// Rounded alike ("8.0 MiB, over the limit of 8.0 MiB"), the
			// sizes would not show the content over: say them exactly.
			size, most = fmt.Sprintf("%d bytes", n), fmt.Sprintf("%d bytes", limit)
		}
		return ipcmesh.Errorf(ipcmesh.CodeTooLarge, "%s is %s, over the message limit of %s (IPC_MAX_MESSAGE_BYTES); %s. %s",
			what, size, most, instead, nothing)
	}
	return nil
}

// largeAdvice is how to pass on a message too long for the mesh.
const largeAdvice = "split it into several messages, or write it to a file and send the file's path"
