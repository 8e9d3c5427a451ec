// Package srccheck reads a package's Go source for tests that hold a rule
// no test of behaviour can see: that secrets are compared in constant
// time. A timing test would be slow and flaky on a shared machine; the
// source says plainly whether a proof meets ==, bytes.Equal or hmac.Equal.
package srccheck

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// variableTime are the calls of the standard library that compare their
// operands in time that depends on where they first differ.
var variableTime = map[string]bool{
	"bytes.Equal":       true,
	"bytes.Compare":     true,
	"bytes.EqualFold":   true,
	"bytes.HasPrefix":   true,
	"strings.Compare":   true,
	"strings.EqualFold": true,
	"strings.HasPrefix": true,
	"slices.Equal":      true,
	"slices.Compare":    true,
	"reflect.DeepEqual": true,
}

// VariableTime returns, as "file:line: what", every comparison in the
// package in dir (its test files left out) that takes time depending on
// its operands, where an operand is named by secret: ==, != and the
// calls of variableTime. An operand's name is its identifier, or the last
// name of a selector (tok.SessionID is "SessionID"), seen through
// conversions such as []byte(x) and string(x). A comparison with a
// literal or nil compares nothing secret and is left out.
func VariableTime(dir string, secret *regexp.Regexp) ([]string, error) {
	fset, files, err := parse(dir)
	if err != nil {
		return nil, err
	}
	var found []string
	report := func(n ast.Node, what string) {
		p := fset.Position(n.Pos())
		found = append(found, fmt.Sprintf("%s:%d: %s", p.Filename, p.Line, what))
	}
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.BinaryExpr:
				if x.Op != token.EQL && x.Op != token.NEQ || constant(x.X) || constant(x.Y) {
					return true
				}
				if secret.MatchString(name(x.X)) || secret.MatchString(name(x.Y)) {
					report(x, fmt.Sprintf("%s %s %s", name(x.X), x.Op, name(x.Y)))
				}
			case *ast.CallExpr:
				fn := callee(x)
				if !variableTime[fn] {
					return true
				}
				for _, a := range x.Args {
					if secret.MatchString(name(a)) {
						report(x, fmt.Sprintf("%s(... %s ...)", fn, name(a)))
						break
					}
				}
			}
			return true
		})
	}
	return found, nil
}

// Calls reports whether the function fn of the package in dir calls
// want. fn is a function's name, or a method's as "Type.Method"; want is
// "pkg.Func" or the name of a function of the package.
func Calls(dir, fn, want string) (bool, error) {
	_, files, err := parse(dir)
	if err != nil {
		return false, err
	}
	for _, f := range files {
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Body == nil || declName(fd) != fn {
				continue
			}
			calls := false
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				if c, ok := n.(*ast.CallExpr); ok && callee(c) == want {
					calls = true
				}
				return !calls
			})
			return calls, nil
		}
	}
	return false, fmt.Errorf("no function %s in the package in %s", fn, dir)
}

// Uses returns, as "file:line", every place the package in dir (its test
// files left out) names want, a qualified name such as "ipc.OpStop".
func Uses(dir, want string) ([]string, error) {
	fset, files, err := parse(dir)
	if err != nil {
		return nil, err
	}
	var found []string
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			if s, ok := n.(*ast.SelectorExpr); ok {
				if id, ok := s.X.(*ast.Ident); ok && id.Name+"."+s.Sel.Name == want {
					p := fset.Position(s.Pos())
					found = append(found, fmt.Sprintf("%s:%d", p.Filename, p.Line))
				}
			}
			return true
		})
	}
	return found, nil
}

// parse parses the Go files of dir, its test files left out, in the
// order of their names. Every file counts, whatever its build tags: a
// comparison that breaks a rule on one system breaks it.
func parse(dir string) (*token.FileSet, []*ast.File, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("parse the package in %s: %w", dir, err)
	}
	fset := token.NewFileSet()
	var files []*ast.File
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, 0)
		if err != nil {
			return nil, nil, fmt.Errorf("parse the package in %s: %w", dir, err)
		}
		files = append(files, f)
	}
	if len(files) == 0 {
		return nil, nil, fmt.Errorf("no Go files in %s", dir)
	}
	return fset, files, nil
}

// declName is "Name" for a function and "Type.Name" for a method.
func declName(fd *ast.FuncDecl) string {
	if fd.Recv == nil || len(fd.Recv.List) == 0 {
		return fd.Name.Name
	}
	t := fd.Recv.List[0].Type
	if s, ok := t.(*ast.StarExpr); ok {
		t = s.X
	}
	if id, ok := t.(*ast.Ident); ok {
		return id.Name + "." + fd.Name.Name
	}
	return fd.Name.Name
}

// callee is "pkg.Func" for a call of a qualified name, the name for a
// call of a plain one, and "" otherwise.
func callee(c *ast.CallExpr) string {
	switch f := c.Fun.(type) {
	case *ast.Ident:
		return f.Name
	case *ast.SelectorExpr:
		if id, ok := f.X.(*ast.Ident); ok {
			return id.Name + "." + f.Sel.Name
		}
	}
	return ""
}

// name is the name an operand is known by, seen through conversions, or
// "" for an expression that has none.
func name(e ast.Expr) string {
	switch x := e.(type) {
	case *ast.Ident:
		return x.Name
	case *ast.SelectorExpr:
		return x.Sel.Name
	case *ast.ParenExpr:
		return name(x.X)
	case *ast.CallExpr:
		if len(x.Args) != 1 {
			return ""
		}
		switch f := x.Fun.(type) {
		case *ast.ArrayType:
			return name(x.Args[0])
		case *ast.Ident:
			if f.Name == "string" {
				return name(x.Args[0])
			}
		}
	}
	return ""
}

// constant reports whether e is a literal or nil.
func constant(e ast.Expr) bool {
	switch x := e.(type) {
	case *ast.BasicLit:
		return true
	case *ast.Ident:
		return x.Name == "nil"
	}
	return false
}
