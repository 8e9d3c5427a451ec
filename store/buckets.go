package store

import (
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Top-level bucket names; doc.go describes what each holds.
const (
	bucketMessages      = "messages"
	bucketIDs           = "ids"
	bucketInboxes       = "inboxes"
	bucketUnread        = "unread"
	bucketInstances     = "instances"
	bucketSessions      = "sessions"
	bucketForwards      = "forwards"
	bucketRenames       = "renames"
	bucketHistory       = "history"
	bucketQueued        = "queued"
	bucketForwardExpiry = "forward-expiry"
	bucketRenameExpiry  = "rename-expiry"
	bucketMeta          = "meta"
)

// Counter keys in the meta bucket.
const (
	countInstances = "instances"
	countMessages  = "messages"
	countUnread    = "unread"
)

func createBuckets(tx *bolt.Tx) error {
	for _, name := range []string{
		bucketMessages, bucketIDs, bucketInboxes, bucketUnread,
		bucketInstances, bucketSessions, bucketForwards, bucketRenames,
		bucketHistory, bucketQueued, bucketForwardExpiry, bucketRenameExpiry,
		bucketMeta,
	} {
		if _, err := tx.CreateBucketIfNotExists([]byte(name)); err != nil {
			return fmt.Errorf("bucket %s: %w", name, err)
		}
	}
	return nil
}

// tables are a transaction's handles on the top-level buckets, all of which
// Open guarantees exist.
type tables struct {
	messages, ids, inboxes, unread    *bolt.Bucket
	instances, sessions, forwards     *bolt.Bucket
	renames, history, queued          *bolt.Bucket
	forwardExpiry, renameExpiry, meta *bolt.Bucket
}

func tablesOf(tx *bolt.Tx) tables {
	b := func(name string) *bolt.Bucket { return tx.Bucket([]byte(name)) }
	return tables{
		messages:      b(bucketMessages),
		ids:           b(bucketIDs),
		inboxes:       b(bucketInboxes),
		unread:        b(bucketUnread),
		instances:     b(bucketInstances),
		sessions:      b(bucketSessions),
		forwards:      b(bucketForwards),
		renames:       b(bucketRenames),
		history:       b(bucketHistory),
		queued:        b(bucketQueued),
		forwardExpiry: b(bucketForwardExpiry),
		renameExpiry:  b(bucketRenameExpiry),
		meta:          b(bucketMeta),
	}
}

// seqKey is big-endian so that byte order is seq order, which makes a
// cursor walk an inbox oldest first.
func seqKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64(make([]byte, 0, 8), seq)
}

// timeKey prefixes suffix with t as 8 big-endian bytes of Unix nanoseconds,
// so an index sorts by time and its expired entries form its front.
func timeKey(t time.Time, suffix []byte) []byte {
	k := make([]byte, 0, 8+len(suffix))
	k = binary.BigEndian.AppendUint64(k, uint64(max(t.UnixNano(), 0)))
	return append(k, suffix...)
}

// keyBefore reports whether the time prefix of an index key is before t.
func keyBefore(k []byte, t time.Time) bool {
	return len(k) >= 8 && int64(binary.BigEndian.Uint64(k)) < t.UnixNano()
}

// count reads a counter: a missing key is zero.
func count(b *bolt.Bucket, key string) int {
	v := b.Get([]byte(key))
	if len(v) != 8 {
		return 0
	}
	return int(binary.BigEndian.Uint64(v))
}

// addCount moves a counter by delta. A counter that reaches zero is deleted
// so that names nobody writes to any more leave nothing behind.
func addCount(b *bolt.Bucket, key string, delta int) error {
	if delta == 0 {
		return nil
	}
	n := max(count(b, key)+delta, 0)
	if n == 0 {
		return b.Delete([]byte(key))
	}
	return b.Put([]byte(key), binary.BigEndian.AppendUint64(nil, uint64(n)))
}

// expiredKeys returns copies of the keys at the front of an index whose time
// is before cutoff. They are collected before anything is deleted because a
// bbolt cursor may skip entries when the bucket changes under it.
func expiredKeys(b *bolt.Bucket, cutoff time.Time) [][]byte {
	var keys [][]byte
	c := b.Cursor()
	for k, _ := c.First(); k != nil && keyBefore(k, cutoff); k, _ = c.Next() {
		keys = append(keys, append([]byte(nil), k...))
	}
	return keys
}

// seqOf decodes a seq key; a malformed key reads as 0, which no message has.
func seqOf(k []byte) uint64 {
	if len(k) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(k)
}
