package cli

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// comments lists the comments of d in the order they are written.
func comments(d *document) []string {
	var out []string
	var walk func(v any)
	member := func(n notes, v any) {
		out = append(out, n.before...)
		walk(v)
		if n.after != "" {
			out = append(out, n.after)
		}
	}
	walk = func(v any) {
		switch t := v.(type) {
		case *object:
			for _, k := range t.keys {
				member(t.notes[k], t.vals[k])
			}
			out = append(out, t.tail...)
		case *array:
			for i, e := range t.items {
				member(t.noteOf(i), e)
			}
			out = append(out, t.tail...)
		}
	}
	out = append(out, d.head...)
	walk(d.root)
	return append(out, d.end...)
}

func decodePlain(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return v, nil
}

func TestConfigJSONKeepsComments(t *testing.T) {
	in := `// my settings
{
  // the look
  "theme": "dark", // or light
  "list": [1, /* one */ 2,], /* after list */
  "empty": {
    // nothing yet
  },
  "mcpServers": {"other": {"command": "x"},},
}
// the end
`
	d, err := parseConfig([]byte(in), true)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"theme": "dark", "list": []any{json.Number("1"), json.Number("2")}, "empty": map[string]any{}, "mcpServers": map[string]any{"other": map[string]any{"command": "x"}}}
	if got := plain(d.root); !reflect.DeepEqual(got, want) {
		t.Errorf("data = %v, want %v", got, want)
	}
	out, err := encodeConfig(d)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"// my settings", "// the look", `"theme": "dark", // or light`, "/* one */", "/* after list */", "// nothing yet", "// the end"} {
		if !bytes.Contains(out, []byte(c)) {
			t.Errorf("written back without %q:\n%s", c, out)
		}
	}
	if _, err := parseConfig([]byte(in), false); err == nil || !strings.Contains(err.Error(), "line 1: a comment") {
		t.Errorf("plain JSON parse of a file with comments: %v, want an error naming the line", err)
	}
	if _, err := parseConfig([]byte(`{"a": 1,}`), false); err == nil || !strings.Contains(err.Error(), "comma") {
		t.Errorf("plain JSON parse of a trailing comma: %v", err)
	}
}

// FuzzConfigJSON: the parser of config files never panics; on plain JSON
// it reads what encoding/json reads; what it writes back parses to the
// same data and the same comments, in order, and is written the same way
// again; with the comments left out, it is plain JSON with that data.
func FuzzConfigJSON(f *testing.F) {
	for _, s := range []string{`{}`, `{"a": [1, 2, {"b": null}]}`, "// c\n{\"a\": 1, // d\n}", `[1,]`, `{"a": /* x */ 1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := parseConfig(data, true)
		strict, serr := parseConfig(data, false)
		if want, jerr := decodePlain(data); jerr == nil && json.Valid(data) {
			if err != nil || serr != nil {
				t.Fatalf("valid JSON %q refused: %v, %v", data, err, serr)
			}
			if got := plain(strict.root); !reflect.DeepEqual(got, want) {
				t.Fatalf("%q read as plain JSON as %#v, encoding/json reads %#v", data, got, want)
			}
			if got := plain(d.root); !reflect.DeepEqual(got, want) {
				t.Fatalf("%q read as %#v, encoding/json reads %#v", data, got, want)
			}
		}
		if err != nil {
			return
		}
		out, err := encodeConfig(d)
		if err != nil {
			t.Fatalf("encode %q: %v", data, err)
		}
		again, err := parseConfig(out, true)
		if err != nil {
			t.Fatalf("%q written as %q, which does not parse: %v", data, out, err)
		}
		if !reflect.DeepEqual(plain(again.root), plain(d.root)) {
			t.Fatalf("%q written as %q changed its data", data, out)
		}
		if a, b := comments(d), comments(again); !reflect.DeepEqual(a, b) {
			t.Fatalf("%q written as %q changed its comments: %q -> %q", data, out, a, b)
		}
		if out2, _ := encodeConfig(again); !bytes.Equal(out, out2) {
			t.Fatalf("written differently the second time:\n%s\n%s", out, out2)
		}
		bare, err := encodeConfig(&document{root: stripNotes(d.root)})
		if err != nil || !json.Valid(bare) {
			t.Fatalf("%q without comments written as %q: not JSON (%v)", data, bare, err)
		}
		if v, _ := decodePlain(bare); !reflect.DeepEqual(v, plain(d.root)) {
			t.Fatalf("%q without comments written as %q, which encoding/json reads as %#v", data, bare, v)
		}
	})
}

// stripNotes is v without its comments.
func stripNotes(v any) any {
	switch t := v.(type) {
	case *object:
		o := newObject()
		for _, k := range t.keys {
			o.set(k, stripNotes(t.vals[k]))
		}
		return o
	case *array:
		a := &array{}
		for _, e := range t.items {
			a.items = append(a.items, stripNotes(e))
		}
		return a
	}
	return v
}

// TestConfigCutShort: a config that ends before a bracket is closed (a
// file cut short, a brace left out in a hand edit) is named as that, with
// the line of the bracket left open, not as a key or comma missing.
func TestConfigCutShort(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"{\"mcpServers\": {\n", `line 2: the file ends before the '}' that closes the '{' of line 1`},
		{"{\n  \"mcpServers\": {\"a\": 1}\n", `line 3: the file ends before the '}' that closes the '{' of line 1`},
		{"{\"a\": [1,\n", `line 2: the file ends before the ']' that closes the '[' of line 1`},
		{"{\"a\": 1,\n\n", `line 3: the file ends before the '}' that closes the '{' of line 1`},
	} {
		for _, comments := range []bool{false, true} {
			_, err := parseConfig([]byte(tc.in), comments)
			if err == nil || err.Error() != tc.want {
				t.Errorf("parseConfig(%q, comments %v) error %v, want %q", tc.in, comments, err, tc.want)
			}
		}
	}
}
