package natsstore

import (
	"context"
	"time"
)

// keepUpEvery is how often a view whose consumer delivered nothing asks
// the cluster where the log ends.
const keepUpEvery = time.Second

// keepUp reads the log itself whenever the consumer falls silent: every
// keepUpEvery in which the consumer delivered nothing, it asks the
// cluster where the log ends and applies what the view lacks (CatchUp).
//
// The consumer pushes each event within a millisecond while its server
// lives. Once that server died or hung, the client library makes the
// consumer anew in its own time, by paths that do not all report to us:
// 13 s when the connection was on a hung server, more than a minute
// under load. A write of this broker catches up by itself, but on an
// idle host nothing else would apply another host's mail meanwhile, and
// it would sit neither pushed nor seen by a check. Asking costs one
// request a second to the stream's leader while the mesh is idle, and
// nothing while the consumer delivers.
func (s *Store) keepUp() {
	defer s.sweeps.Done()
	tick := time.NewTicker(keepUpEvery)
	defer tick.Stop()
	seen := s.delivered.Load()
	for {
		select {
		case <-s.quit:
			return
		case <-tick.C:
		}
		if n := s.delivered.Load(); n != seen {
			seen = n
			continue
		}
		// A request to a server that hangs, or to a stream electing its
		// leader, is never answered, and one sent before the connection
		// left a hung server is not sent again: each try ends with the
		// tick, the next asks again, perhaps through another server, and
		// the events read before a try ended stay applied.
		ctx, cancel := context.WithTimeout(context.Background(), keepUpEvery)
		ctx, stop := s.untilClosed(ctx)
		err := s.CatchUp(ctx)
		stop()
		cancel()
		if err != nil {
			if s.failure() != nil {
				return
			}
			s.log.Debug("ask where the log ends", "err", err)
		}
	}
}
