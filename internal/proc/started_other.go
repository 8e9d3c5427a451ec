//go:build !linux && !darwin && !windows

package proc

import "errors"

// Started returns a mark of process pid's start. This system is not asked:
// it returns errors.ErrUnsupported, and Running is Alive.
func Started(pid int) (string, error) {
	return "", errors.ErrUnsupported
}
