package natsstore

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// A large event's body is put in the object store before the event that
// names it is published. When the upload succeeds and the publish does not
// (the cluster lost its quorum, the broker was killed in between), the
// object is named by nothing and would stay for as long as the bucket. The
// views sweep such objects away: each records the id of every large event
// it applied (in its folder, file "bodies"), and, every bodySweepEvery of
// the log's time, removes the objects older than orphanAge that no event
// it applied names.

// DefaultOrphanAge is how old an object of the bodies bucket that no event
// names must be before a sweep removes it. Its event, if it is ever
// published, is published within a write's time of its upload (12 s, and
// a second for every 256 KiB), and acked within that; the age is measured
// by the cluster's own clocks (the object's and the log's timestamps), so
// the hosts' clocks do not count, and it is long enough to outlast any
// skew between the servers' clocks and a publish that a server took while
// cut off from its quorum and that is committed only once the cluster
// heals. Removing an object an event names would stop every view that has
// not read it yet.
const DefaultOrphanAge = 24 * time.Hour

// DefaultBodySweepEvery is how often, in the log's time, a view looks for
// objects no event names: the sweep lists the bodies bucket, which holds
// one entry per large event, so it is made rarely, never per write.
const DefaultBodySweepEvery = time.Hour

// bodiesFile names the file of a view's folder that records the ids of
// the large events it applied.
const bodiesFile = "bodies"

// loadBodies reads the ids of the large events the view applied, each
// with the event's place in the log (0 on the lines of older brokers,
// which wrote the id alone).
func (s *Store) loadBodies() error {
	s.bodies = make(map[string]uint64)
	f, err := os.Open(filepath.Join(s.viewDir, bodiesFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read the large events the view applied: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		id, at, _ := strings.Cut(strings.TrimSpace(sc.Text()), " ")
		if id != "" {
			seq, _ := strconv.ParseUint(at, 10, 64)
			s.bodies[id] = seq
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read the large events the view applied in %s: %w", f.Name(), err)
	}
	return nil
}

// recordBody records that the view applied the large event id, event seq
// of the log. It is on disk before the view's place in the log moves past
// the event: a sweep must never find an object the log names missing from
// the record. A line cut short by a crash is followed by the whole line
// when the event is applied again.
func (s *Store) recordBody(id string, seq uint64) error {
	s.mu.Lock()
	_, known := s.bodies[id]
	s.mu.Unlock()
	if known {
		return nil
	}
	f, err := os.OpenFile(filepath.Join(s.viewDir, bodiesFile), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("record the large event %s: %w", id, err)
	}
	_, err = fmt.Fprintf(f, "\n%s %d\n", id, seq)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("record the large event %s: %w", id, err)
	}
	s.mu.Lock()
	s.bodies[id] = seq
	s.mu.Unlock()
	return nil
}

// sweepBodiesAt starts a sweep of the bodies bucket when the log's time,
// stored (the time the cluster stored the event being applied), has moved
// on by bodySweepEvery since the last one. Only a view that recorded the
// large events from the log's first event sweeps: a view built by an
// older broker does not know which objects its events named.
func (s *Store) sweepBodiesAt(stored time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.bodySweepDueLocked(stored) {
		return
	}
	s.mark.BodiesSwept = stored
	if !s.sweepingBodies.CompareAndSwap(false, true) {
		return
	}
	// The listing may take a while: the log is applied meanwhile.
	before := stored.Add(-s.opts.orphanAge)
	s.sweeps.Add(1)
	go func() {
		defer s.sweeps.Done()
		defer s.sweepingBodies.Store(false)
		n, err := s.sweepBodies(before)
		select {
		case <-s.quit:
			err = nil // cut short by Close: the next sweep does the rest
		default:
		}
		if err != nil {
			s.log.Warn("remove the large bodies no event names", "err", err)
		}
		if n > 0 {
			s.log.Info("removed large bodies no event names", "objects", n, "stored_before", before)
		}
	}()
}

// bodySweepDueLocked reports whether the bodies bucket is to be swept at
// the event the cluster stored at stored. s.mu is held.
func (s *Store) bodySweepDueLocked(stored time.Time) bool {
	// Close waits for the sweep, once closed is set: none starts after.
	return s.blobs != nil && !stored.IsZero() && !s.closed && s.mark.BodiesKnown &&
		stored.Sub(s.mark.BodiesSwept) >= s.opts.bodySweepEvery
}

// sweepBodies removes the objects of the bodies bucket stored before
// before that no event the view applied names, or that only an event the
// log no longer holds names (trimmed below a copy of the views, which
// holds what the event wrote: no view needs the object again). Every event
// stored before the one the sweep was started at is applied, and an event
// is stored within a write's time of its upload: an object older than
// that and not named was never published.
func (s *Store) sweepBodies(before time.Time) (int, error) {
	ctx, cancel := s.untilClosed(context.Background())
	defer cancel()
	var first uint64
	err := retry(ctx, func(ctx context.Context) error {
		info, err := s.log_.Info(ctx)
		if err == nil {
			first = info.State.FirstSeq
		}
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("ask where the log starts: %w", err)
	}
	infos, err := listObjects(ctx, s.blobs)
	if err != nil {
		return 0, fmt.Errorf("list the bodies bucket: %w", err)
	}
	n := 0
	for _, info := range infos {
		s.mu.Lock()
		at, named := s.bodies[info.Name]
		s.mu.Unlock()
		if named && (at == 0 || at >= first) || info.Deleted || !info.ModTime.Before(before) {
			continue
		}
		err := retry(ctx, func(ctx context.Context) error {
			return s.blobs.Delete(ctx, info.Name)
		})
		if err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
			return n, fmt.Errorf("remove %s from the bodies bucket: %w", info.Name, err)
		}
		n++
	}
	return n, s.sweepUploads(ctx, infos, before)
}

// sweepUploads purges the chunks of uploads that never finished from the
// bodies bucket, whose objects infos lists, and from the snapshots
// bucket.
func (s *Store) sweepUploads(ctx context.Context, infos []*jetstream.ObjectInfo, before time.Time) error {
	if err := s.sweepChunks(ctx, bodiesBucket(s.stream), infos, before); err != nil || s.snaps == nil {
		return err
	}
	snaps, err := listObjects(ctx, s.snaps)
	if err != nil {
		return fmt.Errorf("list the copies of the views in %s: %w", snapshotsBucket(s.stream), err)
	}
	return s.sweepChunks(ctx, snapshotsBucket(s.stream), snaps, before)
}

// listObjects lists the objects of obs, none when it holds none.
func listObjects(ctx context.Context, obs jetstream.ObjectStore) ([]*jetstream.ObjectInfo, error) {
	var infos []*jetstream.ObjectInfo
	err := retry(ctx, func(ctx context.Context) (err error) {
		infos, err = obs.List(ctx)
		return err
	})
	if errors.Is(err, jetstream.ErrNoObjectsFound) {
		return nil, nil
	}
	return infos, err
}
