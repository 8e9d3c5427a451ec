// Package atomicfile replaces files so that a crash or a concurrent reader
// sees the old content or the new, never a torn or empty file.
package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// Write replaces path with data and gives it mode perm. The data goes to a
// temporary file beside path, is synced, and is then renamed into place,
// which is atomic on the file systems ipcmesh runs on.
func Write(path string, data []byte, perm fs.FileMode) error {
	tmp, err := writeTemp(path, data, perm)
	if err != nil {
		return err
	}
	defer os.Remove(tmp) // fails harmlessly once renamed
	return rename(tmp, path)
}

// Create writes path with data and mode perm unless path exists, a
// symbolic link included, in which case it leaves it alone; it reports
// whether it wrote path. The data is written whole beside path and linked
// into place: of processes racing to create path exactly one wins, and
// none reads half a file.
func Create(path string, data []byte, perm fs.FileMode) (bool, error) {
	tmp, err := writeTemp(path, data, perm)
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// writeTemp writes data, synced, to a new file beside path (os.CreateTemp
// opens with O_EXCL, so never through a link planted there) and returns
// its name.
func writeTemp(path string, data []byte, perm fs.FileMode) (string, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return "", err
	}
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(perm)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp.Name())
		return "", err
	}
	return tmp.Name(), nil
}
