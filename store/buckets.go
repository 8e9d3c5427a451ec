package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
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

	bucketChannels      = "channels"
	bucketChannelStats  = "channel-stats"
	bucketCursors       = "cursors"
	bucketChannelLog    = "channel-log"
	bucketChannelExpiry = "channel-expiry"
	bucketConversations = "conversations"
	bucketThreads       = "threads"
	bucketWords         = "words"
	bucketShared        = "shared"
	bucketAccessKeys    = "access-keys"
	bucketEarlierNames  = "earlier-names"
)

// Counter keys in the meta bucket.
const (
	countInstances = "instances"
	countMessages  = "messages"
	countUnread    = "unread"
	// metaIndexed is the search index's watermark: every message with a seq
	// up to it is indexed.
	metaIndexed = "indexed"
	// metaSchema marks a database whose messages are all in the
	// conversation index; metaBackfill, when set, is the last seq stored
	// before it was (by an older ipcmesh): the indexer adds those messages
	// to the conversation index as it goes and then deletes the key.
	metaSchema   = "schema"
	metaBackfill = "backfill"
	schemaCollab = 2
	// metaApplied is the last event of the log a store is rebuilt from
	// that it holds (SetApplied).
	metaApplied = "applied"
	// metaSwept is the store's clock when its last sweep was committed
	// (LastSweep), in Unix nanoseconds.
	metaSwept = "swept"
)

// markSchema runs when the database is opened: a database from before
// conversations were indexed gets its backfill mark, and one marked with
// a schema after schemaCollab is refused. A build that keeps something an
// older build would not (an index it would leave behind, records it could
// not read) marks the next schema, so that the older build, run again
// after a downgrade, refuses the store instead of writing a store the
// newer build then reads wrong.
func markSchema(t *tables) error {
	if v := t.meta().Get([]byte(metaSchema)); v != nil {
		if n := seqOf(v); n > schemaCollab {
			return fmt.Errorf("%w: its schema is %d, and this ipcmesh reads schemas up to %d: run the newer ipcmesh again (ipcmesh version names a build), or put back a backup made by this one with ipcmesh restore", ErrNewerStore, n, schemaCollab)
		}
		return nil
	}
	if last := t.messages().Sequence(); last > 0 {
		if err := t.meta().Put([]byte(metaBackfill), seqKey(last)); err != nil {
			return err
		}
	}
	return t.meta().Put([]byte(metaSchema), seqKey(schemaCollab))
}

func createBuckets(tx *bolt.Tx) error {
	for _, name := range []string{
		bucketMessages, bucketIDs, bucketInboxes, bucketUnread,
		bucketInstances, bucketSessions, bucketForwards, bucketRenames,
		bucketHistory, bucketQueued, bucketForwardExpiry, bucketRenameExpiry,
		bucketMeta,
		bucketChannels, bucketChannelStats, bucketCursors, bucketChannelLog,
		bucketChannelExpiry, bucketConversations, bucketThreads, bucketWords,
		bucketShared, bucketAccessKeys, bucketEarlierNames,
	} {
		if _, err := tx.CreateBucketIfNotExists([]byte(name)); err != nil {
			return fmt.Errorf("bucket %s: %w", name, err)
		}
	}
	return nil
}

// tables are a transaction's handles on the top-level buckets, all of which
// Open guarantees exist. Each is opened on first use and kept for the
// transaction: opening one is a seek and allocations, a read transaction
// (unlike a write one) would repeat it on every call, and most requests
// need a few of the buckets only.
type tables struct {
	tx *bolt.Tx

	cMessages, cIDs, cInboxes, cUnread     *bolt.Bucket
	cInstances, cSessions, cForwards       *bolt.Bucket
	cRenames, cHistory, cQueued            *bolt.Bucket
	cForwardExpiry, cRenameExpiry, cMeta   *bolt.Bucket
	cChannels, cChannelStats, cCursors     *bolt.Bucket
	cChannelLog, cChannelExpiry, cConvs    *bolt.Bucket
	cThreads, cWords, cShared, cAccessKeys *bolt.Bucket
	cEarlierNames                          *bolt.Bucket
}

func tablesOf(tx *bolt.Tx) *tables { return &tables{tx: tx} }

// open returns the bucket name, opening it into *slot on first use.
func (t *tables) open(slot **bolt.Bucket, name []byte) *bolt.Bucket {
	if *slot == nil {
		*slot = t.tx.Bucket(name)
	}
	return *slot
}

// Names of the buckets as byte slices, made once.
var (
	keyMessages      = []byte(bucketMessages)
	keyIDs           = []byte(bucketIDs)
	keyInboxes       = []byte(bucketInboxes)
	keyUnread        = []byte(bucketUnread)
	keyInstances     = []byte(bucketInstances)
	keySessions      = []byte(bucketSessions)
	keyForwards      = []byte(bucketForwards)
	keyRenames       = []byte(bucketRenames)
	keyHistory       = []byte(bucketHistory)
	keyQueued        = []byte(bucketQueued)
	keyForwardExpiry = []byte(bucketForwardExpiry)
	keyRenameExpiry  = []byte(bucketRenameExpiry)
	keyMeta          = []byte(bucketMeta)
	keyChannels      = []byte(bucketChannels)
	keyChannelStats  = []byte(bucketChannelStats)
	keyCursors       = []byte(bucketCursors)
	keyChannelLog    = []byte(bucketChannelLog)
	keyChannelExpiry = []byte(bucketChannelExpiry)
	keyConversations = []byte(bucketConversations)
	keyThreads       = []byte(bucketThreads)
	keyWords         = []byte(bucketWords)
	keyShared        = []byte(bucketShared)
	keyAccessKeys    = []byte(bucketAccessKeys)
	keyEarlierNames  = []byte(bucketEarlierNames)
)

func (t *tables) messages() *bolt.Bucket      { return t.open(&t.cMessages, keyMessages) }
func (t *tables) ids() *bolt.Bucket           { return t.open(&t.cIDs, keyIDs) }
func (t *tables) inboxes() *bolt.Bucket       { return t.open(&t.cInboxes, keyInboxes) }
func (t *tables) unread() *bolt.Bucket        { return t.open(&t.cUnread, keyUnread) }
func (t *tables) instances() *bolt.Bucket     { return t.open(&t.cInstances, keyInstances) }
func (t *tables) sessions() *bolt.Bucket      { return t.open(&t.cSessions, keySessions) }
func (t *tables) forwards() *bolt.Bucket      { return t.open(&t.cForwards, keyForwards) }
func (t *tables) renames() *bolt.Bucket       { return t.open(&t.cRenames, keyRenames) }
func (t *tables) history() *bolt.Bucket       { return t.open(&t.cHistory, keyHistory) }
func (t *tables) queued() *bolt.Bucket        { return t.open(&t.cQueued, keyQueued) }
func (t *tables) forwardExpiry() *bolt.Bucket { return t.open(&t.cForwardExpiry, keyForwardExpiry) }
func (t *tables) renameExpiry() *bolt.Bucket  { return t.open(&t.cRenameExpiry, keyRenameExpiry) }
func (t *tables) meta() *bolt.Bucket          { return t.open(&t.cMeta, keyMeta) }
func (t *tables) channels() *bolt.Bucket      { return t.open(&t.cChannels, keyChannels) }
func (t *tables) channelStats() *bolt.Bucket  { return t.open(&t.cChannelStats, keyChannelStats) }
func (t *tables) cursors() *bolt.Bucket       { return t.open(&t.cCursors, keyCursors) }
func (t *tables) channelLog() *bolt.Bucket    { return t.open(&t.cChannelLog, keyChannelLog) }
func (t *tables) channelExpiry() *bolt.Bucket { return t.open(&t.cChannelExpiry, keyChannelExpiry) }
func (t *tables) conversations() *bolt.Bucket { return t.open(&t.cConvs, keyConversations) }
func (t *tables) threads() *bolt.Bucket       { return t.open(&t.cThreads, keyThreads) }
func (t *tables) words() *bolt.Bucket         { return t.open(&t.cWords, keyWords) }
func (t *tables) shared() *bolt.Bucket        { return t.open(&t.cShared, keyShared) }
func (t *tables) accessKeys() *bolt.Bucket    { return t.open(&t.cAccessKeys, keyAccessKeys) }
func (t *tables) earlierNames() *bolt.Bucket  { return t.open(&t.cEarlierNames, keyEarlierNames) }

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

// Composite index keys. Instance names, channel names and words never hold
// a 0 byte, so 0 separates their parts and a key's prefix names its list;
// the seq comes last, big-endian, so each list sorts oldest first.

// chanPrefix is the prefix of channel ch's entries in channel-log.
func chanPrefix(ch string) []byte {
	return append([]byte(ch), 0)
}

// convPrefix is the prefix of the conversation between a and b, the same
// whichever of them is given first.
func convPrefix(a, b string) []byte {
	if b < a {
		a, b = b, a
	}
	k := make([]byte, 0, len(a)+len(b)+2+8)
	k = append(k, a...)
	k = append(k, 0)
	k = append(k, b...)
	return append(k, 0)
}

// threadPrefix is the prefix of a thread's entries. A thread is named by a
// message id, which may hold any byte, so the id is length-prefixed instead
// of terminated.
func threadPrefix(thread string) []byte {
	k := make([]byte, 0, 2+len(thread)+8)
	k = binary.BigEndian.AppendUint16(k, uint16(len(thread)))
	return append(k, thread...)
}

// wordPrefix is the prefix of a word's posting list.
func wordPrefix(word string) []byte {
	k := make([]byte, 0, len(word)+1+8)
	k = append(k, word...)
	return append(k, 0)
}

// cursorKey is the key of member's read cursor in channel ch.
func cursorKey(member, ch string) []byte {
	k := make([]byte, 0, len(member)+1+len(ch))
	k = append(k, member...)
	k = append(k, 0)
	return append(k, ch...)
}

// withSeq returns prefix followed by seq, in a new slice.
func withSeq(prefix []byte, seq uint64) []byte {
	k := make([]byte, 0, len(prefix)+8)
	k = append(k, prefix...)
	return binary.BigEndian.AppendUint64(k, seq)
}

// tailSeq decodes the seq that ends an index key.
func tailSeq(k []byte) uint64 {
	if len(k) < 8 {
		return 0
	}
	return binary.BigEndian.Uint64(k[len(k)-8:])
}

// lastBefore positions c on the newest entry of the list prefix whose seq
// is below before (before 0: the newest entry) and returns its key, or nil.
func lastBefore(c *bolt.Cursor, prefix []byte, before uint64) []byte {
	var k []byte
	if before == 0 {
		k, _ = c.Seek(withSeq(prefix, 1<<64-1))
		if k != nil && bytes.Equal(k, withSeq(prefix, 1<<64-1)) {
			return k
		}
	} else {
		k, _ = c.Seek(withSeq(prefix, before))
	}
	if k == nil {
		k, _ = c.Last()
	} else {
		k, _ = c.Prev()
	}
	if k == nil || !inList(k, prefix) {
		return nil
	}
	return k
}

// inList reports whether k is an entry of the list prefix.
func inList(k, prefix []byte) bool {
	return len(k) == len(prefix)+8 && bytes.HasPrefix(k, prefix)
}

// getJSON decodes the JSON value stored under key in b, and reports false
// if there is none. A value that does not decode is an error that names it
// by what, a format whose one verb takes key.
func getJSON[T any](b *bolt.Bucket, key, what string) (T, bool, error) {
	var v T
	raw := b.Get([]byte(key))
	if raw == nil {
		return v, false, nil
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		var zero T
		return zero, false, fmt.Errorf(what+": %w", key, err)
	}
	return v, true, nil
}
