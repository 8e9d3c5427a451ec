package bench

import (
	"fmt"
	"time"
)

// roundTimeout bounds one round of sends by one agent.
const roundTimeout = 5 * time.Minute

func (r *runner) groups() []group {
	sz := r.sz
	ge := func(v float64) *Target { return &Target{Op: ">=", Value: v} }
	le := func(v float64) *Target { return &Target{Op: "<=", Value: v} }
	stored := thousands(float64(sz.stored))
	return []group{
		{key: "a", title: "one sender, sequential acked sends", timeout: 5 * time.Minute, run: r.figA, rows: []row{
			{id: "a", name: "(a) 1 sender, sequential acked sends", unit: "msgs/s", target: ge(1000)},
		}},
		{key: "b", title: fmt.Sprintf("%d concurrent senders, each message received exactly once", sz.senders), timeout: 5 * time.Minute, run: r.figB, rows: []row{
			{id: "b", name: fmt.Sprintf("(b) %d senders, aggregate", sz.senders), unit: "msgs/s", target: ge(20000)},
			{id: "b.lost", name: "(b) lost (acked, never received)", unit: "msgs", target: le(0), judge: "max"},
			{id: "b.dup", name: "(b) received more than once", unit: "msgs", target: le(0), judge: "max"},
		}},
		{key: "c", title: "ping-pong round trip with push delivery", timeout: 5 * time.Minute, run: r.figC, rows: []row{
			{id: "c.p50", name: "(c) ping-pong round trip p50", unit: "ms", target: le(0.5)},
			{id: "c.p99", name: "(c) ping-pong round trip p99", unit: "ms", target: le(2)},
		}},
		{key: "d", title: "failover: kill -9 of the broker process while a client sends", timeout: 5 * time.Minute, run: r.figD, rows: []row{
			{id: "d", name: "(d) failover, kill -9 to next acked send", unit: "ms", target: le(500), judge: "max"},
			{id: "d.lost", name: "(d) lost (acked, never received)", unit: "msgs", target: le(0), judge: "max"},
			{id: "d.dup", name: "(d) received more than once", unit: "msgs", target: le(0), judge: "max"},
		}},
		{key: "e", title: fmt.Sprintf("check, history and search with %s messages stored", stored), timeout: 5 * time.Minute, run: r.figE, rows: []row{
			{id: "e.check", name: fmt.Sprintf("(e) check, %s stored, p50", stored), unit: "ms", target: le(1)},
			{id: "e.check99", name: fmt.Sprintf("(e) check, %s stored, p99", stored), unit: "ms"},
			{id: "e.history", name: "(e) history page of 20, p50", unit: "ms", target: le(1)},
			{id: "e.history99", name: "(e) history page of 20, p99", unit: "ms"},
			{id: "e.search", name: "(e) search, one rare word, p50", unit: "ms"},
			{id: "e.search99", name: "(e) search, one rare word, p99", unit: "ms"},
			{id: "e.searchc", name: "(e) search, rare + common word, p50", unit: "ms"},
		}},
		{key: "f", title: fmt.Sprintf("broker peak RSS with %d connected instances", sz.instances), timeout: 5 * time.Minute, run: r.figF, rows: []row{
			{id: "f", name: fmt.Sprintf("(f) broker peak RSS, %d instances", sz.instances), unit: "MiB", target: le(40), judge: "max"},
		}},
		{key: "g", title: "one-shot ipcmesh send, process start to exit", timeout: 5 * time.Minute, run: r.figG, rows: []row{
			{id: "g", name: "(g) one-shot `ipcmesh send`, start to exit", unit: "ms", target: le(15)},
			{id: "g.secret", name: "(g) the same with IPC_SHARED_SECRET set", unit: "ms", target: le(15)},
		}},
		{key: "h", title: fmt.Sprintf("a connection flood for %s, with %d idle connections held", sz.floodFor, sz.floodIdle), timeout: 5 * time.Minute, run: r.figH, rows: []row{
			{id: "h.rate", name: "(h) flood: connections opened and closed", unit: "conns/s"},
			{id: "h", name: "(h) broker peak RSS, connection flood", unit: "MiB"},
			{id: "h.after", name: "(h) broker RSS after the flood", unit: "MiB"},
			{id: "h.rtt", name: "(h) a peer's round trip during the flood, p50", unit: "ms"},
			{id: "h.rtt99", name: "(h) a peer's round trip during the flood, p99", unit: "ms"},
			{id: "h.join", name: "(h) a new peer joins during the flood, worst", unit: "ms"},
		}},
		{key: "x", title: "context: the machine's floor", timeout: time.Minute, run: r.figContext, rows: []row{
			{id: "x.fsync", name: "context: write+fsync in the mesh folder, p50", unit: "ms"},
			{id: "x.rtt", name: "context: loopback TCP round trip, p50", unit: "ms"},
		}},
	}
}

// sendRecord is one send of the failover sender.
type sendRecord struct {
	key    string
	end    time.Time // when the ack arrived (monotonic)
	stored time.Time // when the broker stored it (wall clock)
	dup    bool      // the broker that acked had it already: a retry
}
