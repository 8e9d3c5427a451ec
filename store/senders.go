package store

import (
	"bytes"
	"encoding/binary"
	"time"
)

// maxSenderNames bounds the names one sender filter matches: real
// instances are renamed a few times, not hundreds.
const maxSenderNames = 32

// earlierKey is the key of a rename in earlier-names: the new name, 0, the
// time of the rename and the old name, so a name's renames into it sort
// oldest first under its prefix.
func earlierKey(newName string, at time.Time, old string) []byte {
	k := append([]byte(newName), 0)
	return append(k, timeKey(at, []byte(old))...)
}

// recordEarlier remembers that old became newName at now, for the sender
// filters of search and check. Unlike a forward it does not expire: a
// rename is a few dozen bytes, and a name's mail is read long after.
func recordEarlier(t *tables, old, newName string, now time.Time) error {
	return t.earlierNames().Put(earlierKey(newName, now, old), nil)
}

// alias is one name a sender wrote under: a message from name matches when
// it was sent at or before until (Unix nanoseconds; 0: whenever).
type alias struct {
	name  string
	until int64
}

// senders returns the names a sender filter for name matches: name itself
// whenever it sent, the name its rename forwards now lead to (the same
// instance under its current name), and each earlier name of that one up
// to the time it was renamed away, and theirs, and so on. A name used by
// another instance after it was renamed away is not mistaken for the
// renamed one, since its mail is newer than the rename.
func senders(t *tables, name string, now time.Time) []alias {
	out := []alias{{name: name}}
	current := name
	if chain, err := forwardChain(t.forwards(), name, now); err == nil {
		current = chain[len(chain)-1]
	}
	if current != name {
		out = append(out, alias{name: current})
	}
	// Walk back through the renames into each name, each bounded by the
	// time the walk reached it: a name's earlier names are those it had
	// before then. A name reached again later than before is walked again,
	// until nothing changes; the bound on names bounds the rounds.
	c := t.earlierNames().Cursor()
	for round, changed := 0, true; changed && round < maxSenderNames; round++ {
		changed = false
		for i := 0; i < len(out); i++ {
			a := out[i]
			prefix := append([]byte(a.name), 0)
			for k, _ := c.Seek(prefix); len(k) > len(prefix)+8 && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
				at := int64(binary.BigEndian.Uint64(k[len(prefix):]))
				if a.until != 0 && at > a.until {
					break
				}
				var added bool
				out, added = addAlias(out, alias{name: string(k[len(prefix)+8:]), until: at})
				changed = changed || added
			}
		}
	}
	return out
}

// addAlias adds a to as, or widens the entry for its name, and reports
// whether as changed. A name found again with a time no later than it has
// already adds nothing, which is what ends a walk through renames back and
// forth. Past maxSenderNames names, new ones are left out.
func addAlias(as []alias, a alias) ([]alias, bool) {
	for i, o := range as {
		if o.name == a.name {
			if o.until != 0 && a.until > o.until {
				as[i].until = a.until
				return as, true
			}
			return as, false
		}
	}
	if len(as) == maxSenderNames {
		return as, false
	}
	return append(as, a), true
}

// sentBy reports whether a message from from, sent at time (Unix
// nanoseconds), matches one of as.
func sentBy(as []alias, from []byte, time int64) bool {
	for _, a := range as {
		if string(from) == a.name && (a.until == 0 || time <= a.until) {
			return true
		}
	}
	return false
}
