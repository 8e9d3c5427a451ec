package freeport

import (
	"net"
	"strconv"
	"testing"
)

// Pick's ports are distinct, in its range, and free once it returns.
func TestPick(t *testing.T) {
	ports, err := Pick("127.0.0.1", 50)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if p < Low || p >= High {
			t.Errorf("port %d is outside %d to %d", p, Low, High-1)
		}
		if seen[p] {
			t.Errorf("port %d came up twice", p)
		}
		seen[p] = true
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			t.Errorf("port %d is not free after Pick: %v", p, err)
			continue
		}
		ln.Close()
	}
	if len(ports) != 50 {
		t.Errorf("Pick(50) gave %d ports", len(ports))
	}
}
