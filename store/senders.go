package store

import (
	"bytes"
	"encoding/binary"
	"time"

	bolt "go.etcd.io/bbolt"
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
	return withEarlier(t, out)
}

// withEarlier adds to out each earlier name of its names, up to the time
// it was renamed away, and theirs, and so on.
func withEarlier(t *tables, out []alias) []alias {
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

// readsAs returns the names whose direct messages name reads: its own,
// whenever they were sent, and each of its earlier names up to the time
// it was renamed away. A rename does not take an instance's own
// conversations and threads away from it; a name someone else registers
// after it was renamed away is not one of its earlier names, since the
// mail it gets is newer than the rename.
func readsAs(t *tables, name string) []alias {
	return withEarlier(t, []alias{{name: name}})
}

// owns reports whether a direct message from from to to, sent at time
// (Unix nanoseconds), is one of the reader's with names as (readsAs).
func owns(as []alias, from, to []byte, time int64) bool {
	return sentBy(as, from, time) || sentBy(as, to, time)
}

// EarlierName is a name an instance had before it was renamed, and until
// when: the direct messages sent to or from Name up to Until are its own.
type EarlierName struct {
	Name  string
	Until time.Time
}

// EarlierNames returns the names name was renamed from, each with the time
// it was renamed away, and theirs, and so on (at most maxSenderNames-1 of
// them). The broker lets an instance read the direct messages of its
// earlier names sent up to those times, as its own.
func (s *Store) EarlierNames(name string) ([]EarlierName, error) {
	var out []EarlierName
	err := s.view(func(tx *bolt.Tx) error {
		for _, a := range readsAs(tablesOf(tx), name)[1:] {
			out = append(out, EarlierName{Name: a.name, Until: time.Unix(0, a.until)})
		}
		return nil
	})
	if err != nil {
		return nil, wrapFault("earlier names of "+name, err)
	}
	return out, nil
}
