//go:build !unix

package cli

import "os"

// raise cannot send a signal to this process here: Windows has no kill of
// one's own process that a console tells from an exit.
func raise(os.Signal) bool { return false }
