package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// object is a JSON object that keeps its keys in the order they came in,
// and the comments beside them, so a config file that ipcmesh merges into
// keeps the layout and the notes its owner gave it. Values are *object,
// *array, []any (a list without comments), string, json.Number, bool or
// nil.
type object struct {
	keys  []string
	vals  map[string]any
	notes map[string]notes
	tail  []string // comments before the closing brace
}

// array is a JSON list with the comments beside its elements.
type array struct {
	items []any
	notes []notes // beside items[i]; shorter when the last have none
	tail  []string
}

func newObject() *object { return &object{vals: map[string]any{}} }

func (o *object) get(k string) (any, bool) {
	v, ok := o.vals[k]
	return v, ok
}

func (o *object) set(k string, v any) {
	if _, ok := o.vals[k]; !ok {
		o.keys = append(o.keys, k)
	}
	o.vals[k] = v
}

// addNotes adds n to k's comments: a key given twice keeps both's.
func (o *object) addNotes(k string, n notes) {
	if len(n.before) == 0 && n.after == "" {
		return
	}
	if o.notes == nil {
		o.notes = map[string]notes{}
	}
	cur := o.notes[k]
	cur.before = append(cur.before, n.before...)
	cur.after = strings.TrimSpace(cur.after + " " + n.after)
	o.notes[k] = cur
}

// remove deletes k. Its comments stay, before the member that followed it
// (or the closing brace): they may be the owner's notes on more than k.
func (o *object) remove(k string) {
	i := indexOf(o.keys, k)
	if i < 0 {
		return
	}
	n := o.notes[k]
	left := append(n.before, nonEmpty(n.after)...)
	delete(o.notes, k)
	delete(o.vals, k)
	o.keys = append(o.keys[:i], o.keys[i+1:]...)
	if len(left) == 0 {
		return
	}
	if i < len(o.keys) {
		next := o.keys[i]
		cur := o.notes[next]
		cur.before = append(left, cur.before...)
		if o.notes == nil {
			o.notes = map[string]notes{}
		}
		o.notes[next] = cur
		return
	}
	o.tail = append(left, o.tail...)
}

// child returns the object under k, creating it when there is none.
func (o *object) child(k string) (*object, error) {
	v, ok := o.get(k)
	if !ok || v == nil {
		c := newObject()
		o.set(k, c)
		return c, nil
	}
	c, isObj := v.(*object)
	if !isObj {
		return nil, fmt.Errorf("%q is not an object", k)
	}
	return c, nil
}

// asArray returns v as an *array: a list is one, nil is an empty one.
func asArray(v any) (*array, bool) {
	switch t := v.(type) {
	case *array:
		return t, true
	case []any:
		return &array{items: t}, true
	case nil:
		return &array{}, true
	}
	return nil, false
}

// remove deletes element i; its comments go before the next element.
func (a *array) remove(i int) {
	var n notes
	if i < len(a.notes) {
		n = a.notes[i]
		a.notes = append(a.notes[:i], a.notes[i+1:]...)
	}
	a.items = append(a.items[:i], a.items[i+1:]...)
	left := append(n.before, nonEmpty(n.after)...)
	switch {
	case len(left) == 0:
	case i < len(a.notes):
		a.notes[i].before = append(left, a.notes[i].before...)
	case i < len(a.items):
		a.notes = append(a.notes, make([]notes, i+1-len(a.notes))...)
		a.notes[i].before = left
	default:
		a.tail = append(left, a.tail...)
	}
}

func (a *array) noteOf(i int) notes {
	if i < len(a.notes) {
		return a.notes[i]
	}
	return notes{}
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

func indexOf(list []string, s string) int {
	for i, e := range list {
		if e == s {
			return i
		}
	}
	return -1
}

// encodeConfig writes d indented by two spaces, keys in their order, the
// comments where they were, and no HTML escaping (hook commands may hold
// && or >).
func encodeConfig(d *document) ([]byte, error) {
	var b bytes.Buffer
	for _, c := range d.head {
		b.WriteString(c + "\n")
	}
	if err := writeValue(&b, d.root, ""); err != nil {
		return nil, err
	}
	for i, c := range d.end {
		if i == 0 && !strings.Contains(c, "\n") && strings.HasPrefix(c, "/*") {
			b.WriteString(" " + c)
			continue
		}
		b.WriteString("\n" + c)
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

func writeValue(b *bytes.Buffer, v any, indent string) error {
	switch t := v.(type) {
	case *object:
		n := len(t.keys)
		return writeMembers(b, '{', '}', n, t.tail, indent, func(i int) error {
			k := t.keys[i]
			if err := writeScalar(b, k); err != nil {
				return err
			}
			b.WriteString(": ")
			return writeValue(b, t.vals[k], indent+"  ")
		}, func(i int) notes { return t.notes[t.keys[i]] })
	case *array:
		return writeMembers(b, '[', ']', len(t.items), t.tail, indent, func(i int) error {
			return writeValue(b, t.items[i], indent+"  ")
		}, t.noteOf)
	case []any:
		return writeValue(b, &array{items: t}, indent)
	}
	return writeScalar(b, v)
}

// writeMembers writes the n members of an object or list, each on its own
// line after the comments before it, with its comment after it.
func writeMembers(b *bytes.Buffer, open, close byte, n int, tail []string, indent string, one func(i int) error, noteOf func(i int) notes) error {
	if n == 0 && len(tail) == 0 {
		b.WriteByte(open)
		b.WriteByte(close)
		return nil
	}
	inner := indent + "  "
	b.WriteByte(open)
	b.WriteByte('\n')
	for i := 0; i < n; i++ {
		nt := noteOf(i)
		for _, c := range nt.before {
			b.WriteString(inner + c + "\n")
		}
		b.WriteString(inner)
		if err := one(i); err != nil {
			return err
		}
		if i < n-1 {
			b.WriteByte(',')
		}
		if nt.after != "" {
			b.WriteString(" " + nt.after)
		}
		b.WriteByte('\n')
	}
	for _, c := range tail {
		b.WriteString(inner + c + "\n")
	}
	b.WriteString(indent)
	b.WriteByte(close)
	return nil
}

func writeScalar(b *bytes.Buffer, v any) error {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	b.Truncate(b.Len() - 1) // Encode's newline
	return nil
}

// plain turns v into the values encoding/json decodes to (maps for
// objects), for comparing.
func plain(v any) any {
	switch t := v.(type) {
	case *object:
		m := make(map[string]any, len(t.keys))
		for k, e := range t.vals {
			m[k] = plain(e)
		}
		return m
	case *array:
		return plain(t.items)
	case []any:
		a := make([]any, len(t))
		for i, e := range t {
			a[i] = plain(e)
		}
		return a
	}
	return v
}

func compactJSON(v any) string {
	b, err := json.Marshal(plain(v))
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func sameJSON(a, b any) bool { return compactJSON(a) == compactJSON(b) }
