package natstest

import (
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Server starts one NATS server on loopback, on a port of its own, with
// what opts sets besides (credentials, TLS, JetStream), and stops it when
// the test ends: for the tests of what a broker meets in a cluster it did
// not start.
func Server(tb testing.TB, opts server.Options) *server.Server {
	tb.Helper()
	opts.Host, opts.Port, opts.NoSigs, opts.NoLog = "127.0.0.1", -1, true, true
	srv, err := server.NewServer(&opts)
	if err != nil {
		tb.Fatal(err)
	}
	go srv.Start()
	tb.Cleanup(srv.Shutdown)
	if !srv.ReadyForConnections(10 * time.Second) {
		tb.Fatal("the NATS server did not start")
	}
	return srv
}
