package natsstore

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go"
)

// consumerStop bounds the wait for the log's consumer to stop. The client
// library stops a consumer it is making anew (after its server was lost)
// only once its request to make it is answered or has waited out 10 s,
// and the pause after a failed one: without quorum none is answered. The
// stop goes on meanwhile, and the connection's close ends it.
const consumerStop = 2 * time.Second

// stopConsuming stops the consumer of the log, waiting for it at most
// consumerStop.
func (s *Store) stopConsuming() {
	stopped := make(chan struct{})
	go func() {
		s.cc.Stop()
		<-s.cc.Closed()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-time.After(consumerStop):
		s.log.Debug("the log's consumer is still being made anew: left to the connection's close")
	}
}

// reachGrace is how long Close waits for a connection to the cluster
// that is down to come back, and then for the log's leader to answer: the
// client tries the next server every 250 ms, and a leader answers within
// milliseconds.
const reachGrace = time.Second

// reachable reports whether the log's leader answers within grace, once
// the connection is up: a server without quorum takes requests but never
// answers them.
func (s *Store) reachable(grace time.Duration) bool {
	up := s.nc.StatusChanged(nats.CONNECTED)
	defer s.nc.RemoveStatusListener(up)
	if !s.nc.IsConnected() {
		select {
		case <-up:
		case <-time.After(grace):
			return false
		}
	}
	if s.log_ == nil {
		return true // closed by an Open that failed before it found the log
	}
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	_, err := s.log_.Info(ctx)
	return err == nil
}

// Close stops applying the log, gives up the names this broker holds,
// records the view's place and closes it and the connection. With the
// cluster out of reach, the connection is closed first: nothing asked of
// the cluster would be answered, and what waits for an answer fails at
// once rather than after its timeout.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		close(s.quit)
		reachable := s.nc != nil && s.reachable(reachGrace)
		if s.nc != nil && !reachable {
			s.nc.Close()
		}
		if s.names != nil {
			s.names.close(reachable)
		}
		if s.cc != nil {
			s.stopConsuming()
		}
		s.sweeps.Wait()
		var errs []error
		if view := s.view.Load(); view != nil {
			errs = append(errs, s.saveMark(), view.Close())
		}
		if s.nc != nil {
			s.nc.Close()
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}
