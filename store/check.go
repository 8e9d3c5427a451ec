package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"runtime/debug"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// ErrDamaged is wrapped by the error Open returns when the database file is
// not a whole bbolt database: truncated, or with pages that do not hold
// together. Such a file is never opened, as bbolt would crash the process
// on it (a fault reading past the end of a truncated file, or a panic in
// a goroutine of its own on a page that does not hold together).
var ErrDamaged = errors.New("the store is damaged")

// The layout of a bbolt file, as go.etcd.io/bbolt/internal/common writes
// it (native byte order, as bbolt maps it).
const (
	pageHeaderSize = 16 // id u64, flags u16, count u16, overflow u32
	elemSize       = 16 // a branch or leaf element
	metaSize       = 64 // magic, version, page size, flags, root, sequence, freelist, pgid, txid, checksum
	metaSumOffset  = 56 // the checksum covers the bytes before it

	boltMagic   = 0xED0CDAED
	boltVersion = 2

	branchPage = 0x01
	leafPage   = 0x02

	bucketElem = 0x01 // a leaf element that is a bucket
)

var native = binary.NativeEndian

// checkFile reads the database file at path, mapped read-only where the
// system allows, and reports, as an error wrapping ErrDamaged, what is
// wrong with it: what bbolt checks when it opens a file whose free pages
// it must find (every page reachable once, of the right type, inside the
// file, and keys in order), so that nothing bbolt then does on open can
// crash. A missing or empty file is fine: bbolt makes a new database of
// it.
func checkFile(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.Size() == 0 {
		return nil
	}
	c := &checker{r: f, size: fi.Size()}
	if m, unmap, err := mapFile(f, fi.Size()); err == nil {
		defer unmap()
		c.mapped = m
	}
	if err := c.checkGuarded(); err != nil {
		return &damage{what: ErrDamaged.Error(), why: err}
	}
	return nil
}

// damage is the error of checkFile: what is damaged (the store, or a
// backup), and how. It matches ErrDamaged.
type damage struct {
	what string
	why  error
}

func (e *damage) Error() string        { return e.what + ": " + e.why.Error() }
func (e *damage) Is(target error) bool { return target == ErrDamaged }

// checkBackupFile is checkFile for a backup: its error says the backup is
// damaged, not the store, which a user reads as the live one.
func checkBackupFile(path string) error {
	err := checkFile(path)
	var d *damage
	if errors.As(err, &d) {
		return &damage{what: "the backup is damaged", why: d.why}
	}
	return err
}

// checkGuarded is check with a fault reading the mapped file (an I/O
// error of the disk, or the file cut short under the check) returned as
// an error, not a crash. Any other panic is a bug of the check, not
// damage of the file, and is not taken for one.
func (c *checker) checkGuarded() (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			if _, fault := r.(interface{ Addr() uintptr }); !fault {
				panic(r)
			}
			err = fmt.Errorf("a fault reading the file: %v", r)
		}
	}()
	return c.check()
}

// checkLocked is checkFile under bbolt's shared lock of the file: a broker
// writing it meanwhile would make it look damaged. It fails with bbolt's
// ErrTimeout while a broker holds the file.
func checkLocked(path string, timeout time.Duration) error {
	if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
		return nil // bbolt makes the database, or says why it cannot
	}
	// A read-only open reads the meta pages only.
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: timeout})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return err
	}
	if err == nil {
		defer db.Close()
	}
	if cerr := checkFile(path); cerr != nil {
		return cerr
	}
	return err
}

// checker walks the trees of one database file.
type checker struct {
	r io.ReaderAt
	// mapped is the file mapped read-only, where the system allows: the
	// walk then touches only the headers, element tables and keys of the
	// pages, not the values of a large message, and makes no system
	// call per page. A read of r per page made the check of a store of
	// 3 GB take 3 s, paid by every broker that opens it (an election).
	mapped   []byte
	size     int64
	pageSize int64
	hwm      uint64 // pages below it exist
	seen     []bool
}

// meta is what the checker needs of a meta page.
type meta struct {
	pageSize uint32
	root     uint64
	hwm      uint64
	txid     uint64
}

func (c *checker) check() error {
	m, err := c.meta()
	if err != nil {
		return err
	}
	c.pageSize = int64(m.pageSize)
	c.hwm = m.hwm
	if need := int64(m.hwm) * c.pageSize; m.hwm < 2 || m.hwm > uint64(c.size/c.pageSize) {
		return fmt.Errorf("it is %d bytes long but its last commit needs %d: it was cut short", c.size, need)
	}
	c.seen = make([]bool, m.hwm)
	c.seen[0], c.seen[1] = true, true
	return c.tree(m.root)
}

// meta returns the meta page bbolt would use: the valid one of the last
// transaction.
func (c *checker) meta() (meta, error) {
	// Like bbolt, find the page size in the first meta page, or else in
	// the second at the OS page size.
	first, err0 := c.readMeta(0)
	size := int64(first.pageSize)
	if err0 != nil {
		second, err := c.readMeta(int64(os.Getpagesize()))
		if err != nil {
			return meta{}, fmt.Errorf("neither of its meta pages is valid (%v)", err0)
		}
		size = int64(second.pageSize)
	}
	if size < 512 || size > 1<<20 || size&(size-1) != 0 {
		return meta{}, fmt.Errorf("its meta page gives a page size of %d bytes", size)
	}
	m0, err0 := c.readMeta(0)
	m1, err1 := c.readMeta(size)
	switch {
	case err0 != nil && err1 != nil:
		return meta{}, fmt.Errorf("neither of its meta pages is valid (%v)", err0)
	case err0 != nil:
		m0 = m1
	case err1 != nil:
	case m1.txid > m0.txid:
		m0 = m1
	}
	if int64(m0.pageSize) != size {
		return meta{}, fmt.Errorf("its meta pages disagree on the page size (%d and %d bytes)", size, m0.pageSize)
	}
	return m0, nil
}

// readMeta reads and validates the meta page at off.
func (c *checker) readMeta(off int64) (meta, error) {
	b := make([]byte, pageHeaderSize+metaSize)
	if _, err := c.r.ReadAt(b, off); err != nil {
		return meta{}, fmt.Errorf("read the meta page at byte %d: %w", off, err)
	}
	b = b[pageHeaderSize:]
	h := fnv.New64a()
	h.Write(b[:metaSumOffset])
	switch {
	case native.Uint32(b[0:]) != boltMagic:
		return meta{}, errors.New("not a bbolt database")
	case native.Uint32(b[4:]) != boltVersion:
		return meta{}, fmt.Errorf("bbolt version %d, not %d", native.Uint32(b[4:]), boltVersion)
	case native.Uint64(b[metaSumOffset:]) != h.Sum64():
		return meta{}, errors.New("checksum mismatch")
	}
	return meta{
		pageSize: native.Uint32(b[8:]),
		root:     native.Uint64(b[16:]),
		hwm:      native.Uint64(b[40:]),
		txid:     native.Uint64(b[48:]),
	}, nil
}

// tree checks the bucket whose root page is root.
func (c *checker) tree(root uint64) error {
	_, err := c.page(root, nil, nil)
	return err
}

// page checks page id and the pages below it: every key in [lo, hi) (nil:
// unbounded) and in order, as bbolt's own check has it. It returns the
// largest key below the page.
func (c *checker) page(id uint64, lo, hi []byte) ([]byte, error) {
	if id < 2 || id >= c.hwm {
		return nil, fmt.Errorf("a reference to page %d, outside its %d pages", id, c.hwm)
	}
	hdr, err := c.read(id, 1)
	if err != nil {
		return nil, err
	}
	flags, count, overflow := native.Uint16(hdr[8:]), int(native.Uint16(hdr[10:])), uint64(native.Uint32(hdr[12:]))
	switch {
	case native.Uint64(hdr) != id:
		return nil, fmt.Errorf("page %d calls itself page %d", id, native.Uint64(hdr))
	case flags != branchPage && flags != leafPage:
		return nil, fmt.Errorf("page %d is of type %#x where a branch or leaf was expected", id, flags)
	case overflow >= c.hwm-id:
		return nil, fmt.Errorf("page %d runs past its %d pages", id, c.hwm)
	}
	for i := id; i <= id+overflow; i++ {
		if c.seen[i] {
			return nil, fmt.Errorf("page %d is referenced twice", i)
		}
		c.seen[i] = true
	}
	p := hdr
	if overflow > 0 {
		if p, err = c.read(id, overflow+1); err != nil {
			return nil, err
		}
	}
	if flags == leafPage {
		return c.leaf(id, p, count, lo, hi, true)
	}
	if pageHeaderSize+count*elemSize > len(p) {
		return nil, fmt.Errorf("page %d claims %d elements, more than it holds", id, count)
	}
	var last []byte
	run := lo
	for i := range count {
		e := p[pageHeaderSize+i*elemSize:]
		key, err := field(p, pageHeaderSize+i*elemSize, native.Uint32(e[0:]), native.Uint32(e[4:]))
		if err != nil {
			return nil, fmt.Errorf("page %d, element %d: %v", id, i, err)
		}
		if err := inOrder(i, key, run, hi); err != nil {
			return nil, fmt.Errorf("page %d, element %d: %v", id, i, err)
		}
		next := hi
		if i < count-1 {
			ne := p[pageHeaderSize+(i+1)*elemSize:]
			if next, err = field(p, pageHeaderSize+(i+1)*elemSize, native.Uint32(ne[0:]), native.Uint32(ne[4:])); err != nil {
				return nil, fmt.Errorf("page %d, element %d: %v", id, i+1, err)
			}
		}
		if last, err = c.page(native.Uint64(e[8:]), key, next); err != nil {
			return nil, err
		}
		run = last
	}
	return last, nil
}

// read returns n pages from page id on: a slice of the mapped file, or
// read from it.
func (c *checker) read(id, n uint64) ([]byte, error) {
	off, size := int64(id)*c.pageSize, int64(n)*c.pageSize
	if c.mapped != nil {
		return c.mapped[off : off+size : off+size], nil
	}
	p := make([]byte, size)
	if _, err := c.r.ReadAt(p, off); err != nil {
		return nil, fmt.Errorf("read page %d: %w", id, err)
	}
	return p, nil
}

// leaf checks the elements of the leaf page p (id 0: a bucket stored
// inline in its parent) and the buckets they hold; sub says whether they
// may hold buckets.
func (c *checker) leaf(id uint64, p []byte, count int, lo, hi []byte, sub bool) ([]byte, error) {
	if pageHeaderSize+count*elemSize > len(p) {
		return nil, fmt.Errorf("page %d claims %d elements, more than it holds", id, count)
	}
	var key []byte
	run := lo
	for i := range count {
		off := pageHeaderSize + i*elemSize
		e := p[off:]
		kv, err := field(p, off, native.Uint32(e[4:]), native.Uint32(e[8:])+native.Uint32(e[12:]))
		if err != nil {
			return nil, fmt.Errorf("page %d, element %d: %v", id, i, err)
		}
		key, val := kv[:native.Uint32(e[8:])], kv[native.Uint32(e[8:]):]
		if err := inOrder(i, key, run, hi); err != nil {
			return nil, fmt.Errorf("page %d, element %d: %v", id, i, err)
		}
		run = key
		if native.Uint32(e[0:])&bucketElem == 0 {
			continue
		}
		if !sub {
			return nil, fmt.Errorf("page %d, element %d: a bucket inside an inline bucket", id, i)
		}
		if err := c.bucket(val); err != nil {
			return nil, fmt.Errorf("bucket %q on page %d: %w", key, id, err)
		}
	}
	return key, nil
}

// bucket checks the bucket whose header (root page, sequence) and, for an
// inline bucket, page are v.
func (c *checker) bucket(v []byte) error {
	if len(v) < 16 {
		return fmt.Errorf("a header of %d bytes", len(v))
	}
	if root := native.Uint64(v); root != 0 {
		return c.tree(root)
	}
	p := v[16:]
	if len(p) < pageHeaderSize || native.Uint16(p[8:]) != leafPage {
		return errors.New("an inline bucket without its leaf")
	}
	_, err := c.leaf(0, p, int(native.Uint16(p[10:])), nil, nil, false)
	return err
}

// field returns the n bytes at pos past the element at off of p.
func field(p []byte, off int, pos, n uint32) ([]byte, error) {
	start := uint64(off) + uint64(pos)
	if end := start + uint64(n); end > uint64(len(p)) {
		return nil, fmt.Errorf("its data runs past the page (%d bytes past it)", end-uint64(len(p)))
	}
	return p[start : start+uint64(n)], nil
}

// inOrder checks that the i'th key of a page follows prev (for the first,
// prev is the page's lower bound and may equal it) and is below hi.
func inOrder(i int, key, prev, hi []byte) error {
	switch c := bytes.Compare(prev, key); {
	case i == 0 && prev != nil && c > 0, i > 0 && c >= 0:
		return fmt.Errorf("key %x is out of order", key)
	}
	if hi != nil && bytes.Compare(key, hi) >= 0 {
		return fmt.Errorf("key %x is out of order", key)
	}
	return nil
}

// guarded runs fn, which uses bbolt on a file that passed checkFile, and
// turns what it panics with into an error wrapping ErrDamaged: a file
// damaged in a way the check does not see must cost the broker its store,
// not the process. A fault reading the mapped file, as a SIGBUS past the end
// of a file cut short under it, is such a panic too.
func guarded(fn func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", ErrDamaged, r)
		}
	}()
	return fn()
}
