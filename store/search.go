package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ipcmesh/ipcmesh"
	bolt "go.etcd.io/bbolt"
)

const (
	minWordBytes    = 2
	maxWordBytes    = 40
	maxMessageWords = 500 // words indexed per message
	maxQueryWords   = 16
	// searchBudget bounds the messages one search examines (unindexed tail
	// and index candidates together), so no query costs more than some
	// milliseconds however much is stored (13 ms for the worst case in
	// BenchmarkSearch at 100,000 messages).
	searchBudget = 20000
	// rarityProbe is how many postings of each query word are counted to
	// find the rarest; a word with more is "common" and never preferred to
	// one with fewer.
	rarityProbe = 1000
	// clockSlack is how far back of Since a search walks before it stops:
	// seqs follow the clock unless the clock steps back.
	clockSlack = time.Minute
)

// tokens returns the distinct words of text: lower-cased runs of letters
// and digits of 2-40 bytes, in order of first appearance, at most 500.
// Longer runs (hashes, base64) are skipped.
func tokens(text string) []string {
	var (
		out  []string
		seen map[string]struct{}
		buf  = make([]byte, 0, 64)
		skip bool // the current run is past maxWordBytes
	)
	flush := func() {
		if !skip && len(buf) >= minWordBytes {
			// Short messages are the rule: a linear look is cheaper than
			// a map until there are a few dozen words.
			dup := false
			if seen != nil {
				_, dup = seen[string(buf)]
			} else {
				dup = slices.Contains(out, string(buf))
			}
			if !dup {
				w := string(buf)
				out = append(out, w)
				if seen != nil {
					seen[w] = struct{}{}
				} else if len(out) == 32 {
					seen = make(map[string]struct{}, 64)
					for _, o := range out {
						seen[o] = struct{}{}
					}
				}
			}
		}
		buf, skip = buf[:0], false
	}
	for _, r := range text {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			if len(buf) > 0 || skip {
				flush()
				if len(out) == maxMessageWords {
					return out
				}
			}
			continue
		}
		if skip {
			continue
		}
		buf = utf8.AppendRune(buf, unicode.ToLower(r))
		if len(buf) > maxWordBytes {
			skip = true
		}
	}
	if len(buf) > 0 || skip {
		flush()
	}
	return out
}

// DefaultSearchLimit and MaxSearchLimit bound the messages one search
// returns.
const (
	DefaultSearchLimit = 20
	MaxSearchLimit     = 100
)

// Query is a search: the messages holding every word of Words that Reader
// may read, narrowed by the optional filters.
type Query struct {
	Words        string    // the words to find; a message matches when it holds all of them
	From         string    // optional sender filter; it matches the sender's earlier names too (see senders)
	Channel      string    // optional: only this channel's posts
	Since, Until time.Time // optional, both inclusive
	Limit        int       // <= 0: DefaultSearchLimit; at most MaxSearchLimit
	Before       uint64    // optional: only seqs below it, for the page after one that ended at it; 0: from the newest
	Reader       string    // who searches: direct messages count only if they are Reader's (From or To, under an earlier name too: readsAs)
	Channels     []string  // channels Reader may read (the broker decides); posts elsewhere never match
}

// matcher checks one message against a query's permission and filters.
type matcher struct {
	q            Query
	allowed      map[string]bool
	from         []alias // the names q.From sent under; see senders
	readers      []alias // the names whose direct messages q.Reader reads; see readsAs
	since, until int64   // Unix nanoseconds; 0 for none
}

// permits checks a message's head against the permission and filters;
// the compiler makes the string conversions here allocation free.
func (m *matcher) permits(h *recordHead) bool {
	if len(h.channel) > 0 {
		if m.q.Channel != "" && string(h.channel) != m.q.Channel {
			return false
		}
		if !m.allowed[string(h.channel)] {
			return false
		}
	} else if m.q.Channel != "" || m.q.Reader == "" || !owns(m.readers, h.from, h.to, h.time) {
		return false
	}
	if m.q.From != "" && !sentBy(m.from, h.from, h.time) {
		return false
	}
	if m.since != 0 && h.time < m.since {
		return false
	}
	if m.until != 0 && h.time > m.until {
		return false
	}
	return true
}

// tooOld reports whether a walk newest first has gone far enough back of
// Since that nothing older can match.
func (m *matcher) tooOld(h *recordHead) bool {
	return m.since != 0 && h.time < m.since-int64(clockSlack)
}

// Search returns the messages matching q that q.Reader may read, newest
// first, at most q.Limit, and whether older ones match too: direct
// messages it sent or received, and posts of the channels in q.Channels.
// With q.Before, it returns only messages older than that seq, so the
// next page starts at the last seq of one page and no message is found
// twice or passed over, whatever is sent meanwhile. Words are matched as whole words, ignoring
// case; words of one letter or over 40 bytes are ignored, and a query with
// no other words matches every message the filters let through (with no
// filter either, it is refused).
//
// Messages the background indexer has not reached yet (the newest, past
// the watermark) are scanned directly; older ones are found by walking the
// posting list of the rarest query word (or of the channel, with q.Channel,
// if that is shorter) newest first and checking each candidate's other
// words by key. The work is bounded: a search examines at most 20,000
// messages and candidates. Past that it stops and returns the matches it
// found so far, all newer than any it skipped, so a query whose rarest word
// is in most messages and that matches few of them may miss older matches;
// a rarer word, a channel or a time filter narrows it.
func (s *Store) Search(q Query) (msgs []ipcmesh.Message, more bool, err error) {
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultSearchLimit
	}
	limit = min(limit, MaxSearchLimit)
	words := tokens(q.Words)
	if len(words) > maxQueryWords {
		return nil, false, ipcmesh.Errorf(ipcmesh.CodeBadRequest, "a search may have at most %d words, got %d", maxQueryWords, len(words))
	}
	if len(words) == 0 && q.From == "" && q.Channel == "" && q.Since.IsZero() && q.Until.IsZero() {
		// As an empty query with no filter is refused: it would list every
		// message, which is not what a query of one-letter words asked.
		return nil, false, ipcmesh.Errorf(ipcmesh.CodeBadRequest, "the query %q has no word to search for (words of one letter or over %d bytes are ignored): give a longer word, or a filter (from, channel, since, until)", q.Words, maxWordBytes)
	}
	m := &matcher{q: q, allowed: make(map[string]bool, len(q.Channels))}
	if !q.Since.IsZero() {
		m.since = unixNano(q.Since)
	}
	if !q.Until.IsZero() {
		m.until = unixNano(q.Until)
	}
	for _, ch := range q.Channels {
		m.allowed[ch] = true
	}
	if q.Channel != "" && !m.allowed[q.Channel] {
		return nil, false, nil
	}
	// One match past the limit says whether more follow.
	var out []ipcmesh.Message
	err = s.viewMail(func(tx *bolt.Tx) error {
		t := tablesOf(tx)
		if q.From != "" {
			m.from = senders(t, q.From, s.now())
		}
		if q.Reader != "" {
			m.readers = readsAs(t, q.Reader)
		}
		wm := watermark(t.meta())
		budget := searchBudget
		// check loads a candidate and reports whether the walk goes on.
		// Cursors are reused for every lookup: Bucket.Get makes a new one
		// each call, which is most of the cost of a candidate.
		msgs := seeker{c: t.messages().Cursor()}
		check := func(key []byte, needWords bool) (bool, error) {
			budget--
			v := msgs.get(key)
			if v == nil {
				return true, nil
			}
			h, ok := peekRecord(v)
			if !ok {
				return false, fmt.Errorf("message %x: %w", key, errBadRecord)
			}
			if m.tooOld(&h) {
				return false, nil
			}
			if m.permits(&h) {
				rec, err := unmarshalRecord(v)
				if err != nil {
					return false, fmt.Errorf("message %x: %w", key, err)
				}
				if !needWords || holdsAll(tokens(rec.Content), words) {
					out = append(out, rec.message(seqOf(key), s.largeDir))
				}
			}
			return len(out) <= limit && budget > 0, nil
		}

		// The tail the indexer has not reached, newest first.
		c := t.messages().Cursor()
		for k := lastBefore(c, nil, q.Before); k != nil && seqOf(k) > wm; k, _ = c.Prev() {
			if more, err := check(k, true); !more || err != nil {
				return err
			}
		}

		// The indexed messages, from the shortest list of candidates; the
		// other words are checked by key.
		list, prefix, walked := pickList(t, words, q.Channel)
		if list == nil {
			return nil
		}
		var others []*seeker
		for i, w := range words {
			if i != walked {
				others = append(others, &seeker{c: t.words().Cursor(), key: withSeq(wordPrefix(w), 0)})
			}
		}
		key := seqKey(0)
		lc := list.Cursor()
		from := wm + 1
		if q.Before != 0 {
			from = min(from, q.Before)
		}
	candidates:
		for k := lastBefore(lc, prefix, from); k != nil && inList(k, prefix); k, _ = lc.Prev() {
			seq := tailSeq(k)
			for _, o := range others {
				if !o.has(seq) {
					budget--
					if budget <= 0 {
						return nil
					}
					continue candidates
				}
			}
			binary.BigEndian.PutUint64(key, seq)
			if more, err := check(key, false); !more || err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("search: %w", err)
	}
	if len(out) > limit {
		return out[:limit], true, nil
	}
	return out, false, nil
}

// pickList chooses the index list to walk: the posting list of the rarest
// word (walked is its index in words), or the channel's log when a channel
// is given and its log is shorter (walked is -1). With neither words nor a
// channel it is every message. The length of each list is counted up to
// rarityProbe entries; a nil list means an empty one, so nothing indexed
// matches.
func pickList(t *tables, words []string, channel string) (list *bolt.Bucket, prefix []byte, walked int) {
	n := -1
	walked = -1
	consider := func(b *bolt.Bucket, p []byte, i int) {
		if n == 0 {
			return
		}
		c := b.Cursor()
		m := 0
		for k, _ := c.Seek(p); k != nil && inList(k, p) && m < rarityProbe; k, _ = c.Next() {
			m++
		}
		if n < 0 || m < n {
			list, prefix, n, walked = b, p, m, i
		}
	}
	for i, w := range words {
		consider(t.words(), wordPrefix(w), i)
	}
	if channel != "" {
		consider(t.channelLog(), chanPrefix(channel), -1)
	}
	switch {
	case list == nil:
		// Every message: the messages bucket's keys are bare seqs.
		return t.messages(), nil, -1
	case n == 0:
		return nil, nil, -1
	}
	return list, prefix, walked
}

// seeker looks keys up with one reused cursor.
type seeker struct {
	c   *bolt.Cursor
	key []byte // a list prefix with 8 bytes for the seq, for has
}

// get returns the value stored under key, or nil.
func (s *seeker) get(key []byte) []byte {
	k, v := s.c.Seek(key)
	if !bytes.Equal(k, key) {
		return nil
	}
	return v
}

// has reports whether the list holds seq.
func (s *seeker) has(seq uint64) bool {
	binary.BigEndian.PutUint64(s.key[len(s.key)-8:], seq)
	k, _ := s.c.Seek(s.key)
	return bytes.Equal(k, s.key)
}

func holdsAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

// unixNano is t.UnixNano clamped to what it can represent: no message is
// older than 1970, and none is newer than 2262, so a filter beyond either
// compares right (and never wraps around when the walk subtracts its slack).
func unixNano(t time.Time) int64 {
	lo, hi := time.Unix(0, 1), time.Unix(0, math.MaxInt64)
	switch {
	case t.Before(lo):
		return lo.UnixNano()
	case t.After(hi):
		return hi.UnixNano()
	}
	return t.UnixNano()
}
