//go:build !unix

package store

import (
	"errors"
	"os"
)

// mapFile is not used where the system is not unix: the check reads the
// file instead.
func mapFile(*os.File, int64) ([]byte, func(), error) {
	return nil, nil, errors.ErrUnsupported
}
