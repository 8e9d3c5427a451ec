//go:build !linux

package proc

import "errors"

// Listens reports whether the process pid holds a TCP socket listening on
// port. Only linux can tell: elsewhere it returns errors.ErrUnsupported.
func Listens(pid, port int) (bool, error) {
	return false, errors.ErrUnsupported
}
