package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/ipcmesh/ipcmesh"
	bolt "go.etcd.io/bbolt"
)

// record is a message as stored under its seq. It keeps the spill file's
// base name rather than its path, so a data folder that is moved or restored
// from a backup still finds its files.
type record struct {
	ID        string
	From      string
	To        string
	SentTo    string
	Time      time.Time
	Broadcast bool
	Content   string // the whole body, or its summary when File is set
	Size      int
	File      string // base name in large-messages/, when the body spilled
	Type      string // "" for a plain message
	ReplyTo   string // id of the message answered
	Thread    string // id of the thread's first message, set with ReplyTo
	Channel   string // channel of a channel post (To is then "#" + Channel)
	Shared    string // shared-data key the message points at
}

// recordVersion leads every encoded record so the format can change later.
// Version 1 records (without the collaboration fields) are still read.
const (
	recordVersion1 = 1
	recordVersion  = 2
)

const flagBroadcast = 1

// marshal encodes r in a small binary form rather than JSON: bodies must
// come back byte for byte even when they are not valid UTF-8, and a 10 KB
// body should not pay for escaping on every read.
func (r *record) marshal() []byte {
	b := make([]byte, 0, 40+len(r.ID)+len(r.From)+len(r.To)+len(r.SentTo)+len(r.Content)+len(r.File)+
		len(r.Type)+len(r.ReplyTo)+len(r.Thread)+len(r.Channel)+len(r.Shared))
	b = append(b, recordVersion)
	var flags byte
	if r.Broadcast {
		flags |= flagBroadcast
	}
	b = append(b, flags)
	b = binary.AppendVarint(b, r.Time.UnixNano())
	b = binary.AppendUvarint(b, uint64(r.Size))
	for _, s := range []string{r.ID, r.From, r.To, r.SentTo, r.Content, r.File, r.Type, r.ReplyTo, r.Thread, r.Channel, r.Shared} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return b
}

var errBadRecord = errors.New("malformed message record")

func unmarshalRecord(b []byte) (record, error) {
	if len(b) < 2 || (b[0] != recordVersion && b[0] != recordVersion1) {
		return record{}, errBadRecord
	}
	d := decoder{b: b[2:]}
	r := record{Broadcast: b[1]&flagBroadcast != 0}
	r.Time = time.Unix(0, d.varint()).UTC()
	r.Size = int(d.uvarint())
	for _, s := range []*string{&r.ID, &r.From, &r.To, &r.SentTo, &r.Content, &r.File} {
		*s = d.str()
	}
	if b[0] >= recordVersion {
		for _, s := range []*string{&r.Type, &r.ReplyTo, &r.Thread, &r.Channel, &r.Shared} {
			*s = d.str()
		}
	}
	if d.bad || len(d.b) != 0 {
		return record{}, errBadRecord
	}
	return r, nil
}

// recordHead is what a search needs to accept or refuse a message before
// decoding it: slices of the stored value, valid in its transaction.
type recordHead struct {
	time              int64 // Unix nanoseconds
	from, to, channel []byte
}

// peekRecord reads a record's head without copying anything.
func peekRecord(b []byte) (recordHead, bool) {
	if len(b) < 2 || (b[0] != recordVersion && b[0] != recordVersion1) {
		return recordHead{}, false
	}
	d := decoder{b: b[2:]}
	h := recordHead{time: d.varint()}
	d.uvarint() // size
	d.raw()     // id
	h.from, h.to = d.raw(), d.raw()
	for range 3 { // sent-to, content, file
		d.raw()
	}
	if b[0] >= recordVersion {
		for range 3 { // type, reply-to, thread
			d.raw()
		}
		h.channel = d.raw()
	}
	return h, !d.bad
}

// peekFile returns a record's spill file name (empty when its body is in
// the record) without copying anything: a slice of b.
func peekFile(b []byte) ([]byte, bool) {
	if len(b) < 2 || (b[0] != recordVersion && b[0] != recordVersion1) {
		return nil, false
	}
	d := decoder{b: b[2:]}
	d.varint()    // time
	d.uvarint()   // size
	for range 5 { // id, from, to, sent-to, content
		d.raw()
	}
	file := d.raw()
	return file, !d.bad
}

// decoder reads the fields of a record, remembering the first fault so the
// caller checks once.
type decoder struct {
	b   []byte
	bad bool
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.bad = true
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.bad = true
		return 0
	}
	d.b = d.b[n:]
	return v
}

// raw returns a length-prefixed field without copying it.
func (d *decoder) raw() []byte {
	n := d.uvarint()
	if d.bad || n > uint64(len(d.b)) {
		d.bad = true
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) str() string {
	n := d.uvarint()
	if d.bad || n > uint64(len(d.b)) {
		d.bad = true
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

// message is r as a client sees it.
func (r *record) message(seq uint64, largeDir string) ipcmesh.Message {
	m := ipcmesh.Message{
		ID:        r.ID,
		Seq:       seq,
		From:      r.From,
		To:        r.To,
		Time:      r.Time,
		SentTo:    r.SentTo,
		Broadcast: r.Broadcast,
		Content:   r.Content,
		Size:      r.Size,
		Type:      r.Type,
		ReplyTo:   r.ReplyTo,
		Thread:    r.Thread,
		Channel:   r.Channel,
		Shared:    r.Shared,
	}
	if r.File != "" {
		m.Large = true
		m.Path = filepath.Join(largeDir, r.File)
	}
	return m
}

// getRecord loads the message stored under key, a seq key.
func getRecord(messages *bolt.Bucket, key []byte) (record, bool, error) {
	v := messages.Get(key)
	if v == nil {
		return record{}, false, nil
	}
	r, err := unmarshalRecord(v)
	if err != nil {
		return record{}, false, fmt.Errorf("message %x: %w", key, err)
	}
	return r, true, nil
}
