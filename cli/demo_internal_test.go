package cli

import (
	"context"
	"io"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// A step of the HTTP face that fails after the face is up (here the key,
// which a closed builder cannot create) is an error to report, with the
// face stopped: it once stopped the face through the stop func it had
// just returned as nil, and the demo ended in a nil dereference.
func TestDemoHTTPFailureIsAnError(t *testing.T) {
	d, err := newDemo(Env{Stdout: io.Discard, Getenv: func(string) string { return "" }}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	builder, err := d.join(ctx, "builder", nil)
	if err != nil {
		t.Fatalf("join: %v", err)
	}
	builder.Close()
	stop, err := d.demoHTTP(ctx, builder)
	if err == nil {
		stop()
		t.Fatal("demoHTTP with a closed builder succeeded")
	}
}

// An interrupted demo says so, not what the step it cut short made of
// it ("context canceled", "the broker process did not start:").
func TestDemoInterruptedSaysSo(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out strings.Builder
	err := runDemo(ctx, Env{Stdout: &out, Stderr: io.Discard, Getenv: func(string) string { return "" }}, nil)
	if err == nil || !strings.HasPrefix(err.Error(), "interrupted") || strings.Contains(err.Error(), "context canceled") {
		t.Fatalf("interrupted demo: %v; want it to say it was interrupted", err)
	}
}

// A temporary folder the demo cannot make its own in is named, with the
// setting that picks another.
func TestDemoUnusableTempDirNamesTheSetting(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	v := tempDirVar(runtime.GOOS)
	t.Setenv(v, missing)
	err := runDemo(context.Background(), Env{Stdout: io.Discard, Stderr: io.Discard, Getenv: func(string) string { return "" }}, nil)
	if err == nil || !strings.Contains(err.Error(), missing) || !strings.Contains(err.Error(), "set "+v+" to a folder you can write to") {
		t.Fatalf("demo with %s=%s: %v; want the folder named and %s to set", v, missing, err, v)
	}
}
