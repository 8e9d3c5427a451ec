// Package freeport picks ports for servers that must come back on them: a
// mesh's port, which the next broker binds when one dies, and the ports of
// a NATS node, which it binds again when it restarts.
//
// It picks from Low to High, below the ports the system hands out by
// itself, for port 0 and for the local end of outgoing connections (from
// 32768 on Linux, 49152 on macOS and Windows). A port of that range, once
// its server is gone, may be any connection's before the next server binds
// it: the clients reconnecting to that very port first, since a dial to a
// free port of the range can be given that port and connect to itself.
// Such a restart failed with "bind: address already in use".
package freeport

import (
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
)

// Low and High bound the ports Pick returns: Low <= port < High.
const Low, High = 20000, 32768

// tries bounds Pick's search: most ports of the range are free on a
// machine, and a search that keeps failing will not do better.
const tries = 1000

// Pick returns n distinct ports of host that were free a moment ago. All
// are held until all are found, so none comes up twice; none is held after:
// the server meant to bind one does so next.
func Pick(host string, n int) ([]int, error) {
	var held []net.Listener
	defer func() {
		for _, ln := range held {
			ln.Close()
		}
	}()
	ports := make([]int, 0, n)
	for i := 0; len(ports) < n; i++ {
		if i == tries {
			return nil, fmt.Errorf("find %d free ports from %d to %d on %s: found %d in %d tries", n, Low, High-1, host, len(ports), tries)
		}
		p := Low + rand.IntN(High-Low)
		ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(p)))
		if err != nil {
			continue // in use, by this program or another
		}
		held = append(held, ln)
		ports = append(ports, p)
	}
	return ports, nil
}
