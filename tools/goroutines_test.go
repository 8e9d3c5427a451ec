package tools_test

import (
	"iter"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/testbin"
)

// awaitGone waits until no goroutine started after the one numbered after
// runs code of the packages, and fails listing those still running.
// Goroutines say nothing when they end, so this looks now and then.
func awaitGone(t *testing.T, after uint64, what string, pkgs ...string) {
	t.Helper()
	var left string
	defer func() {
		if left != "" {
			t.Logf("still running:\n%s", left)
		}
	}()
	testbin.Eventually(t, 10*time.Second, what+" to end", func() bool {
		left = goroutinesOf(after, pkgs...)
		return left == ""
	})
}

// goroutinesOf returns the stacks of the goroutines started after the one
// numbered after that run code of any of the packages, but for this test's
// own.
func goroutinesOf(after uint64, pkgs ...string) string {
	var left []string
	for g := range goroutines() {
		if id(g) <= after || strings.Contains(g, "tools_test.") {
			continue
		}
		for _, p := range pkgs {
			if strings.Contains(g, p) {
				left = append(left, g)
				break
			}
		}
	}
	return strings.Join(left, "\n\n")
}

// lastGoroutine is the highest number of a running goroutine: goroutines
// started later have higher ones.
func lastGoroutine() uint64 {
	var last uint64
	for g := range goroutines() {
		last = max(last, id(g))
	}
	return last
}

// goroutines yields the stack of every goroutine.
func goroutines() iter.Seq[string] {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.SplitSeq(string(buf[:n]), "\n\n")
		}
		buf = make([]byte, 2*len(buf))
	}
}

// id is the number of the goroutine whose stack is g ("goroutine 7 [...").
func id(g string) uint64 {
	f := strings.Fields(g)
	if len(f) < 2 {
		return 0
	}
	n, _ := strconv.ParseUint(f[1], 10, 64)
	return n
}
