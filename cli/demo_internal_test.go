package cli

import (
	"context"
	"io"
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
