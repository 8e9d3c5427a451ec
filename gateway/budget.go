package gateway

import (
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/ipcmesh/ipcmesh"
)

// checkBudget bounds the JSON of a check's answer, in bytes. A ChatGPT
// action refuses an answer over 100,000 characters (its
// ResponseTooLargeError), and a GPT whose mail holds 100 unread messages
// of a few kilobytes each then reads none of it, however often it asks.
// An answer stops at the message that would pass the budget; the rest
// stay unread, counted in remaining, for the next check after the ack.
// Bytes are at least as many as characters, so the bound holds for both.
const checkBudget = 90_000

// paged ends a page of history or of a thread where its answer would pass
// checkBudget, as check ends its answer: more then says the rest is on the
// next page, which starts after the last message kept either way.
func paged(msgs []ipcmesh.Message, more bool) ([]ipcmesh.Message, bool) {
	if n := withinBudget(msgs, checkBudget); n < len(msgs) {
		return msgs[:n], true
	}
	return msgs, more
}

// withinBudget returns how many of msgs, from the first, an answer of at
// most budget bytes holds: at least one, which is never larger than a
// message's summary (a large body is read with fetch).
func withinBudget(msgs []ipcmesh.Message, budget int) int {
	used := len(`{"messages":[],"remaining":0000000000}`)
	for i, m := range msgs {
		used += jsonLen(m) + 1
		if used > budget && i > 0 {
			return i
		}
	}
	return len(msgs)
}

// jsonLen bounds the length of m in JSON from above, without encoding
// the strings: each key it writes, the numbers and the time, and each
// string as encoding/json escapes it.
func jsonLen(m ipcmesh.Message) int {
	n := len(`{"id":,"seq":,"from":,"to":,"time":"","content":,"size":}`) +
		len(strconv.FormatUint(m.Seq, 10)) +
		len(m.Time.Format(time.RFC3339Nano)) +
		len(strconv.Itoa(m.Size))
	for _, v := range []string{m.ID, m.From, m.To, m.Content} {
		n += quotedLen(v)
	}
	for _, f := range []struct {
		key, value string
	}{{"sent_to", m.SentTo}, {"path", m.Path}, {"type", m.Type}, {"reply_to", m.ReplyTo}, {"thread", m.Thread}, {"channel", m.Channel}, {"shared", m.Shared}} {
		if f.value != "" {
			n += len(`,"":`) + len(f.key) + quotedLen(f.value)
		}
	}
	if m.Broadcast {
		n += len(`,"broadcast":true`)
	}
	if m.Large {
		n += len(`,"large":true`)
	}
	return n
}

// quotedLen is the length of s as encoding/json writes it: \b, \f, \n,
// \r, \t, " and \ take a backslash, another control character, <, > and
// & become \u00XX, U+2028
// and U+2029 (three bytes each) become \u2028 and \u2029, and a byte
// that is not UTF-8 becomes \ufffd.
func quotedLen(s string) int {
	n := len(`""`)
	for i := 0; i < len(s); {
		w, size := quotedChar(s, i)
		n += w
		i += size
	}
	return n
}

// quotedEnd is where a page of s that starts at byte start ends when its
// text may take room bytes in JSON, quotes aside: as far on as that
// allows, between two characters, and one character on at least, so that
// a reader who reads on always comes to the end. A byte of s can take six
// in JSON, so the page is sized by what it takes there, not by its bytes.
func quotedEnd(s string, start, room int) int {
	end := start
	for end < len(s) {
		w, size := quotedChar(s, end)
		if room -= w; room < 0 && end > start {
			break
		}
		end += size
	}
	return end
}

// quotedChar returns how many bytes the character at s[i] takes in JSON
// as encoding/json writes it, and how many it takes in s: a byte that is
// not UTF-8 is a character of its own.
func quotedChar(s string, i int) (width, size int) {
	c := s[i]
	if c < utf8.RuneSelf {
		switch c {
		case '"', '\\', '\b', '\f', '\n', '\r', '\t':
			return 2, 1
		case '<', '>', '&':
			return 6, 1
		}
		if c < 0x20 {
			return 6, 1
		}
		return 1, 1
	}
	r, size := utf8.DecodeRuneInString(s[i:])
	switch {
	case r == utf8.RuneError && size == 1:
		return 6, 1
	case r == '\u2028', r == '\u2029':
		return 6, size
	}
	return size, size
}
