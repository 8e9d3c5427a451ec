//go:build windows

package cli

import (
	"io"
	"os"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

// readersGoneEvery is how often the pipes are looked at: Windows says
// nothing when a pipe's reader goes, so it is asked. A hook that waits
// holds its name for this much longer than its assistant, at most.
const readersGoneEvery = 250 * time.Millisecond

// readersGone returns a channel that is closed once nothing reads any of
// outs any more: the assistant that runs a hook holds the other end of its
// stdout and stderr pipes, and its process exiting closes them. A hook that
// waits in the background (Claude Code's Stop hook with asyncRewake)
// outlives the session that started it otherwise, and while it waits it
// holds the name: senders hear the name is online, and the next session's
// MCP server cannot register it for up to the hook's --timeout. Only pipes
// are watched (anonymous pipes are named pipes to Windows, so both kinds
// are); with none, the channel is nil and never ready. stop ends the
// watch.
func readersGone(outs ...io.Writer) (gone <-chan struct{}, stop func()) {
	var pipes []windows.Handle
	for _, w := range outs {
		f, ok := w.(*os.File)
		if !ok {
			continue
		}
		h := windows.Handle(f.Fd())
		if _, err := pipeOpen(h); err == nil {
			pipes = append(pipes, h)
		}
	}
	if len(pipes) == 0 {
		return nil, func() {}
	}
	ch := make(chan struct{})
	done := make(chan struct{})
	go func() {
		tick := time.NewTicker(readersGoneEvery)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			for _, h := range pipes {
				if open, err := pipeOpen(h); err == nil && !open {
					close(ch)
					return
				}
			}
		}
	}()
	return ch, sync.OnceFunc(func() { close(done) })
}

// pipeLocalInformation is FILE_PIPE_LOCAL_INFORMATION, what
// NtQueryInformationFile says of one end of a pipe.
type pipeLocalInformation struct {
	NamedPipeType          uint32
	NamedPipeConfiguration uint32
	MaximumInstances       uint32
	CurrentInstances       uint32
	InboundQuota           uint32
	ReadDataAvailable      uint32
	OutboundQuota          uint32
	WriteQuotaAvailable    uint32
	NamedPipeState         uint32
	NamedPipeEnd           uint32
}

const (
	filePipeLocalInformation = 24 // FILE_INFORMATION_CLASS
	filePipeClosingState     = 4  // FILE_PIPE_CLOSING_STATE: the other end closed its handle
)

// pipeOpen reports whether the pipe h writes to still has its other end
// open; an error says h is no pipe, or not one this can tell of. A write
// would tell as well, but writes the assistant's output: even an empty
// one may read as the end of it to the reader.
func pipeOpen(h windows.Handle) (bool, error) {
	var info pipeLocalInformation
	var iosb windows.IO_STATUS_BLOCK
	if err := windows.NtQueryInformationFile(h, &iosb, (*byte)(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info)), filePipeLocalInformation); err != nil {
		return false, err
	}
	return info.NamedPipeState != filePipeClosingState, nil
}
