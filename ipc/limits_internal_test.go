package ipc

import (
	"testing"
	"time"
)

// The broker's limits left at zero take the figures SECURITY.md 3.9 and
// 3.10 give. Tests of the limits set their own, smaller ones, so that a
// flood is quick to make: this one holds the defaults themselves.
func TestLimitDefaultsAsDocumented(t *testing.T) {
	var l Limits
	l.setDefaults()
	want := Limits{
		OpsPerSecond: 500, OpsBurst: 1000, // every op, per name
		RegisterPerSecond: 2, RegisterBurst: 10, // register, resume and stop, per connection
		HandshakesPerSecond: 100, HandshakeBurst: 200, // hellos, the whole broker
		MaxFrame:         16 << 20,
		MaxInFlight:      64,
		MaxWaiting:       32,
		WriteTimeout:     10 * time.Second,
		HandshakeTimeout: 5 * time.Second,
		MaxHandshakes:    256,
	}
	if l != want {
		t.Errorf("default limits\n%+v\nwant, as SECURITY.md says,\n%+v", l, want)
	}
	for _, c := range []struct {
		what      string
		got, want int64
	}{
		{"frame read during the handshake", maxHandshakeFrame, 4 << 10},
		{"frame the client reads", MaxResponseFrame, 64 << 20},
		{"frames queued for a client", outQueue, 1024},
		{"one check or wait_reply wait", int64(MaxWait), int64(10 * time.Minute)},
	} {
		if c.got != c.want {
			t.Errorf("%s: %d, want %d as SECURITY.md 3.10 says", c.what, c.got, c.want)
		}
	}
}
