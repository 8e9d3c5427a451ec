package store

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
)

// The send journal lets a batch of sends and acks be answered after one
// fdatasync instead of bbolt's two. The batch is committed to bbolt
// without syncs, once a record of it (the drafts, or the ack's name and
// ids, and the time they were made at) is written to the journal, and
// answered once that record is on disk. The journal names the checkpoint
// it follows, the last commit bbolt did sync, with a copy of that
// commit's meta page; the committer keeps the checkpoint's pages from
// being reused by holding a read transaction on it. After a crash or a
// power loss, Open writes the copy back over both meta pages, which turns
// the file into the checkpoint however much of the later, unsynced
// commits reached the disk, and makes the journal's batches again, in
// order, with their own times: the same messages under the same seqs. See
// docs/SECURITY.md, 3.13.
//
// The file: a header, then records.
//
//	header  magic (8) | crc32c of the rest (4) | page size (4) | txid (8) | meta page
//	record  length (4) | crc32c of the rest (4) | txid (8) | payload
//
// A record counts only while its crc holds and it names the header's txid;
// reading stops at the first that does not, so a torn tail, or the records
// of an earlier checkpoint left beyond it, are never replayed. Every record
// that was acked is in the valid prefix: its ack waited for the fdatasync
// that followed it, which also made everything before it durable.
const (
	journalFile  = "ipcmesh.journal"
	journalMagic = "ipcmeshJ"
	headerFixed  = 24
	recordFixed  = 16
	// maxRecord bounds one record's payload: a batch of sends with no large
	// bodies is far smaller, and a length read from a torn tail is refused.
	maxRecord = 64 << 20
	// journalCap is how long the journal may grow before the committer
	// syncs a commit to start a new one. It bounds what Open replays after
	// a crash, some 550 sends of 200 bytes, and so how long a failover
	// waits for it: tens of milliseconds.
	journalCap = 256 << 10
	// journalSize is the size the journal file is given up front (see
	// preallocate): the records of a full journal, and the batch that
	// passes journalCap, fit in it.
	journalSize = journalCap + 64<<10
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// A checkpoint is a commit that bbolt synced: its txid and its meta page
// as it is on disk.
type checkpoint struct {
	txid uint64
	page []byte
}

// journal is the open journal file. Only the committer uses it, and Open
// before the committer starts.
type journal struct {
	f   *os.File
	off int64 // where the next record goes; 0 while no header is on disk
	buf []byte
}

func openJournal(dir string) (*journal, error) {
	f, err := os.OpenFile(filepath.Join(dir, journalFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open send journal: %w", err)
	}
	return &journal{f: f}, nil
}

// preallocate writes zeros to the journal file up to journalSize, when it
// is shorter, as it is in a new data folder. A record then overwrites
// blocks the file already has, and the fdatasync that acks it has no file
// size or block to record, only the record's data: appending, each of the
// first 750 or so acks of a new folder paid for the file's growth too
// (about 30 µs a sync on ext4: BenchmarkCommitSyncs, record against
// record-appended). A reading stops at the zeros as at any record that
// does not hold.
func (j *journal) preallocate() error {
	st, err := j.f.Stat()
	if err != nil {
		return fmt.Errorf("send journal: %w", err)
	}
	if n := journalSize - st.Size(); n > 0 {
		if _, err := j.f.WriteAt(make([]byte, n), st.Size()); err != nil {
			return fmt.Errorf("preallocate send journal %s: %w", j.f.Name(), err)
		}
	}
	return nil
}

// read returns the checkpoint the journal on disk names and the payloads
// of its valid records, or ok false when it holds no header.
func (j *journal) read() (ck checkpoint, payloads [][]byte, ok bool, err error) {
	// A journal cleared by the close before, the usual case, has no
	// header: read no further than that, not the whole preallocated file.
	var magic [len(journalMagic)]byte
	if _, err := j.f.ReadAt(magic[:], 0); err != nil && err != io.EOF {
		return checkpoint{}, nil, false, fmt.Errorf("read send journal %s: %w", j.f.Name(), err)
	}
	if string(magic[:]) != journalMagic {
		return checkpoint{}, nil, false, nil
	}
	data, err := io.ReadAll(io.NewSectionReader(j.f, 0, 1<<62))
	if err != nil {
		return checkpoint{}, nil, false, fmt.Errorf("read send journal %s: %w", j.f.Name(), err)
	}
	ck, payloads, ok = parseJournal(data)
	return ck, payloads, ok, nil
}

// parseJournal reads a journal's bytes: see the layout above.
func parseJournal(data []byte) (ck checkpoint, payloads [][]byte, ok bool) {
	if len(data) < headerFixed || string(data[:8]) != journalMagic {
		return checkpoint{}, nil, false
	}
	size := binary.LittleEndian.Uint32(data[12:16])
	if size < 512 || size > 1<<16 || size&(size-1) != 0 || len(data)-headerFixed < int(size) {
		return checkpoint{}, nil, false
	}
	end := headerFixed + int(size)
	if crc32.Checksum(data[12:end], castagnoli) != binary.LittleEndian.Uint32(data[8:12]) {
		return checkpoint{}, nil, false
	}
	ck = checkpoint{txid: binary.LittleEndian.Uint64(data[16:24]), page: data[headerFixed:end]}
	for rest := data[end:]; len(rest) >= recordFixed; {
		n := binary.LittleEndian.Uint32(rest[:4])
		if n > maxRecord || uint64(len(rest)-recordFixed) < uint64(n) {
			break
		}
		rec := rest[8 : recordFixed+int(n)]
		if crc32.Checksum(rec, castagnoli) != binary.LittleEndian.Uint32(rest[4:8]) ||
			binary.LittleEndian.Uint64(rec[:8]) != ck.txid {
			break
		}
		payloads = append(payloads, rec[8:])
		rest = rest[recordFixed+int(n):]
	}
	return ck, payloads, true
}

// appendHeader and appendRecord lay out a header and a record.
func appendHeader(b []byte, ck checkpoint) []byte {
	start := len(b)
	b = append(b, journalMagic...)
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(ck.page)))
	b = binary.LittleEndian.AppendUint64(b, ck.txid)
	b = append(b, ck.page...)
	binary.LittleEndian.PutUint32(b[start+8:], crc32.Checksum(b[start+12:], castagnoli))
	return b
}

func appendRecord(b []byte, txid uint64, payload []byte) []byte {
	start := len(b)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(payload)))
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = binary.LittleEndian.AppendUint64(b, txid)
	b = append(b, payload...)
	binary.LittleEndian.PutUint32(b[start+4:], crc32.Checksum(b[start+8:], castagnoli))
	return b
}

// append writes a record of payload after checkpoint ck. The first record
// after a checkpoint goes out with the header that names it, in one write,
// and is synced at once (synced is true): no page of a commit that follows
// the checkpoint may reach bbolt's file before the journal names the
// checkpoint on disk. Later records are synced by the caller; until then,
// a crash reverts to the checkpoint and replays what was synced.
func (j *journal) append(ck checkpoint, payload []byte, sync func(*os.File) error) (synced bool, err error) {
	if len(payload) > maxRecord {
		return false, fmt.Errorf("send journal: a record of %d bytes is over the limit of %d", len(payload), maxRecord)
	}
	j.buf = j.buf[:0]
	first := j.off == 0
	if first {
		j.buf = appendHeader(j.buf, ck)
	}
	j.buf = appendRecord(j.buf, ck.txid, payload)
	_, err = j.f.WriteAt(j.buf, j.off)
	// Whatever reached the file counts from now on: clear must wipe a
	// header even if its write or sync failed.
	j.off += int64(len(j.buf))
	if err != nil {
		return false, fmt.Errorf("write send journal: %w", err)
	}
	if first {
		if err := sync(j.f); err != nil {
			return false, fmt.Errorf("sync send journal: %w", err)
		}
	}
	return first, nil
}

// clear makes the journal name nothing, on disk, before a commit synced
// after its checkpoint is acked: once that commit's checkpoint replaces
// the one the journal names, replaying the journal would undo it.
func (j *journal) clear() error {
	if j.off == 0 {
		return nil
	}
	if _, err := j.f.WriteAt(make([]byte, headerFixed), 0); err != nil {
		return fmt.Errorf("clear send journal: %w", err)
	}
	if err := datasync(j.f); err != nil {
		return fmt.Errorf("clear send journal: sync: %w", err)
	}
	j.off = 0
	return nil
}

// retract takes back the records from off on, written for a commit that
// then failed: they must never be replayed. A record is invalidated by a
// length no record can have, and the first record after a checkpoint by
// wiping the header with it; the sync makes it so before the next commit.
func (j *journal) retract(off int64) error {
	if off >= j.off {
		return nil
	}
	mark := []byte{0xff, 0xff, 0xff, 0xff}
	if off == 0 {
		mark = make([]byte, headerFixed)
	}
	if _, err := j.f.WriteAt(mark, off); err != nil {
		return fmt.Errorf("retract send journal record: %w", err)
	}
	if err := datasync(j.f); err != nil {
		return fmt.Errorf("retract send journal record: sync: %w", err)
	}
	j.off = off
	return nil
}

func (j *journal) close() error { return j.f.Close() }
