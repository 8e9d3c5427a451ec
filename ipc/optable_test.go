package ipc_test

import (
	"bufio"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ipcmesh/ipcmesh"
)

// The op table of protocol.go and the summary of docs/PROTOCOL.md section 6
// list the same ops in the same order, and the broker asks for a name
// exactly where the summary says it does.
func TestOpTableMatchesProtocolDoc(t *testing.T) {
	doc := docOps(t)
	table := tableOps(t)
	want := append([]string{"hello", "auth"}, opNames(doc)...)
	if !slices.Equal(table, want) {
		t.Fatalf("protocol.go declares the ops\n%v\nbut the handshake and docs/PROTOCOL.md section 6 list\n%v", table, want)
	}

	m := startMesh(t, nil)
	p := m.dial(t)
	for _, op := range doc {
		err := p.call(op.name, map[string]any{}, nil)
		var e *ipcmesh.Error
		if errors.As(err, &e) && e.Code == ipcmesh.CodeUnknownOp {
			t.Errorf("the broker does not serve %s: %v", op.name, err)
			continue
		}
		asked := errors.As(err, &e) && e.Code == ipcmesh.CodeNotRegistered
		if asked != op.needsName {
			t.Errorf("%s without a name: %v; docs/PROTOCOL.md says it needs a name: %v", op.name, err, op.needsName)
		}
	}
}

type docOp struct {
	name      string
	needsName bool
}

func opNames(ops []docOp) []string {
	var names []string
	for _, op := range ops {
		names = append(names, op.name)
	}
	return names
}

// docOps reads the summary table of docs/PROTOCOL.md section 6.
func docOps(t *testing.T) []docOp {
	t.Helper()
	f, err := os.Open("../docs/PROTOCOL.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var ops []docOp
	inSection, inSummary := false, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "## "):
			inSection = strings.HasPrefix(line, "## 6. ")
			inSummary = false
		case strings.HasPrefix(line, "### "):
			inSummary = inSection && line == "### Summary"
		case inSummary && strings.HasPrefix(line, "| `"):
			cells := strings.Split(line, "|")
			if len(cells) < 4 {
				t.Fatalf("summary row %q has too few cells", line)
			}
			ops = append(ops, docOp{
				name:      strings.Trim(strings.TrimSpace(cells[1]), "`"),
				needsName: strings.TrimSpace(cells[2]) == "yes",
			})
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(ops) == 0 {
		t.Fatal("docs/PROTOCOL.md section 6 has no summary table")
	}
	return ops
}

// tableOps returns the values of the Op constants of protocol.go, in the
// order they are declared.
func tableOps(t *testing.T) []string {
	t.Helper()
	file, err := parser.ParseFile(token.NewFileSet(), "protocol.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var ops []string
	for _, d := range file.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, n := range vs.Names {
				if !strings.HasPrefix(n.Name, "Op") || i >= len(vs.Values) {
					continue
				}
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					t.Fatalf("%s is not a string literal", n.Name)
				}
				v, err := strconv.Unquote(lit.Value)
				if err != nil {
					t.Fatal(err)
				}
				ops = append(ops, v)
			}
		}
	}
	return ops
}
