package natsstore

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/time/rate"

	"github.com/ipcmesh/ipcmesh/store"
)

// The log would otherwise grow for as long as the mesh lives, and a broker
// that builds its view anew would apply all of it: a year of a team's
// mail. So every DefaultSnapshotEvery events a broker puts a copy of its
// view (a backup, package store's, large bodies included) into the
// object store PREFIX-snapshots, and the log is trimmed below the copy
// before it: the log keeps the events since that older copy, and a
// broker whose view is missing, of another log, or behind the newest copy
// starts from the newest copy and applies the log after it.
//
// Every view holds the same at the same event, so a copy of any of them
// serves all. The broker that wrote the event at a multiple of the
// interval makes the copy: exactly one broker wrote it, so no two make the
// same copy and none has to be chosen. A copy carries the view's mark:
// where in the log it is, and when it last swept. The mark is read before
// the backup's transaction starts, so the copy may hold a few events past
// it: the copy records which in itself (store.SetApplied), and a view
// made from it goes on from there, as after a crash of the view.
//
// Keeping one copy's worth of log behind the newest copy lets a broker
// that lags by less than an interval go on applying it: a broker that
// lags by more (stopped while a whole interval was written) restores the
// newest copy when it starts, and one that runs and finds the log trimmed
// past its view restores it in place (restoreLagging).

// DefaultSnapshotEvery is how many events of the log there are between
// two copies of the views: about 50 MB of log for messages of a few
// hundred bytes.
const DefaultSnapshotEvery = 100_000

// A snapshot is one copy of the views in the snapshots bucket: its name
// there, its mark, its size in bytes and when it was put.
type snapshot struct {
	name string
	mark mark
	size uint64
	made time.Time
}

// snapshotMark is the key of an object's metadata that carries its mark.
const snapshotMark = "ipcmesh-mark"

// snapshotsBucket names the object store of the copies of the views of
// the mesh of prefix.
func snapshotsBucket(prefix string) string { return prefix + "-snapshots" }

// copyRate paces the upload of a copy of the view, copyChunk bytes at a
// time. A copy of a view of 50,000 messages (42 MB) put as fast as the
// cluster took it raised the p99 of the writes made meanwhile from 2 ms
// to 88 ms (BenchmarkWritesDuringACopy, the cluster's three servers on
// the broker's two cores): the servers replicate every chunk. Paced, it
// was 3 ms, and the copy took 2.6 s rather than 0.6 s: a copy is made
// once in an interval, nobody waits for it, and writes are what people
// wait for. The read of a copy, which a broker waits for to serve, is
// not paced.
const (
	copyRate  = 16 << 20
	copyChunk = 256 << 10
)

// pacedReader reads from r no faster than lim allows.
type pacedReader struct {
	ctx context.Context
	r   io.Reader
	lim *rate.Limiter
}

func (p *pacedReader) Read(b []byte) (int, error) {
	if len(b) > p.lim.Burst() {
		b = b[:p.lim.Burst()]
	}
	n, err := p.r.Read(b)
	if n > 0 {
		if werr := p.lim.WaitN(p.ctx, n); werr != nil {
			return n, werr
		}
	}
	return n, err
}

// snapshotName names the copy of the views at the log's event seq, so that
// the names sort as the copies do.
func snapshotName(seq uint64) string { return fmt.Sprintf("view-%020d", seq) }

// snapshotAt starts a copy of the view once the event at seq, whose id is
// id, is applied, when seq is a multiple of the interval and this broker
// wrote the event. s.applyMu is held.
func (s *Store) snapshotAt(seq uint64, id string) {
	if s.snaps == nil || seq%s.opts.snapshotEvery != 0 || !strings.HasPrefix(id, s.origin+".") {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Close waits for the copy, once closed is set: none starts after.
	if s.closed {
		return
	}
	if s.copying {
		// One is under way: this one is made once it is done, of the
		// view as it is then. Skipped, it left the log a whole interval
		// longer.
		s.copyDue = true
		return
	}
	s.copying = true
	s.sweeps.Add(1)
	go s.copyAll()
}

// copyAll takes the copy snapshotAt asked for, and the one asked for
// meanwhile, if any.
func (s *Store) copyAll() {
	defer s.sweeps.Done()
	for {
		err := s.takeSnapshot()
		select {
		case <-s.quit:
			err = nil // cut short by Close: the next interval makes one
		default:
		}
		if err != nil {
			s.log.Warn("copy the view into the cluster and trim the log", "err", err)
		}
		s.mu.Lock()
		again := s.copyDue && !s.closed
		s.copyDue, s.copying = false, again
		s.mu.Unlock()
		if !again {
			return
		}
	}
}

// takeSnapshot puts a copy of the view into the snapshots bucket, then
// trims the log below the copy before it.
func (s *Store) takeSnapshot() error {
	ctx, cancel := s.untilClosed(context.Background())
	defer cancel()
	s.mu.Lock()
	m := s.mark
	s.mu.Unlock()
	m.BodiesKnown = true // the view restored from the copy records the large events it applies

	dir := s.copyDir()
	if err := emptyDir(dir); err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "view.db")
	missing, err := s.viewNow().Backup(path)
	if err != nil {
		return err
	}
	if len(missing) > 0 {
		// A view made from the copy lacks them as this one does;
		// refusing the copy would keep the log from being trimmed for
		// as long as their records last.
		s.log.Warn("the view's folder lacks files that its records name, removed by hand: the copy of the view leaves them out", "files", missing)
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	start := time.Now()
	pctx, pcancel := context.WithTimeout(ctx, s.opts.WriteTimeout+TransferTime(int(fi.Size())))
	defer pcancel()
	meta := jetstream.ObjectMeta{
		Name:        snapshotName(m.Applied),
		Description: fmt.Sprintf("ipcmesh: the views at event %d of the log", m.Applied),
		Metadata:    map[string]string{snapshotMark: string(data)},
	}
	// A put cut off by a reconnect is made again from the file's start
	// while it has time, as a large body's is: given up, it left the log
	// untrimmed for a whole interval more.
	info, err := s.putAgainWhileCut(pctx, "the copy of the view", func() (*jetstream.ObjectInfo, error) {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return nil, err
		}
		return s.snaps.Put(pctx, meta, &pacedReader{ctx: pctx, r: f, lim: rate.NewLimiter(copyRate, copyChunk)})
	})
	if err != nil {
		return fmt.Errorf("put the copy of the view at event %d into %s: %w", m.Applied, snapshotsBucket(s.stream), err)
	}
	if s.opts.uploaded != nil {
		s.opts.uploaded(info)
	}
	// Put as a large body is, the copy may be stored damaged as one may
	// (putBody): a new view would fail on it, and the log would be
	// trimmed below it. One that does not read back whole is removed,
	// and the next interval makes another.
	rctx, rcancel := context.WithTimeout(ctx, s.opts.WriteTimeout+TransferTime(int(fi.Size())))
	defer rcancel()
	if err := s.readBack(rctx, s.snaps, info.NUID, info.Name, fi.Size(), nil); err != nil {
		dctx, dcancel := context.WithTimeout(ctx, attemptTimeout)
		defer dcancel()
		if derr := s.snaps.Delete(dctx, info.Name); derr != nil && !errors.Is(derr, jetstream.ErrObjectNotFound) {
			err = errors.Join(err, fmt.Errorf("remove it: %w", derr))
		}
		return fmt.Errorf("the copy of the view at event %d did not read back whole from %s, and the log was not trimmed: %w", m.Applied, snapshotsBucket(s.stream), err)
	}
	s.log.Info("copied the view into the cluster", "event", m.Applied, "bytes", fi.Size(), "took", time.Since(start).Round(time.Millisecond))
	return s.trim(ctx, snapshot{name: info.Name, mark: m, size: info.Size})
}

// copyDir is the folder a copy of the view is written to before it is put
// into the cluster; restoreDir the one a copy is read into before it
// becomes the view. A broker killed meanwhile leaves them: the next
// clears them (openView).
func (s *Store) copyDir() string    { return s.viewDir + ".copy" }
func (s *Store) restoreDir() string { return s.viewDir + ".restore" }

// emptyDir makes dir an empty folder, whatever was left in it.
func emptyDir(dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("clear %s: %w", dir, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("make %s: %w", dir, err)
	}
	return nil
}

// trim removes from the log the events before the second newest copy of
// the views, and the copies older than that one. Trimming below an older
// copy than the newest keeps an interval of log for the brokers that lag.
// Each step may be made again by another broker or at the next copy:
// purging up to an event already purged does nothing. made is the copy
// just put, counted whether or not the bucket's list has it: the list may
// be read from a replica a moment behind, and without it the trim stopped
// one copy short, the log and the oldest copy kept an interval longer (a
// CI run of the trim test waited in vain for them to go).
func (s *Store) trim(ctx context.Context, made snapshot) error {
	snaps, err := s.snapshots(ctx)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(snaps, func(c snapshot) bool { return c.name == made.name }) {
		snaps = append(snaps, made)
		slices.SortFunc(snaps, newestFirst)
	}
	if len(snaps) < 2 {
		return nil
	}
	keep := snaps[1]
	err = retry(ctx, func(ctx context.Context) error {
		return s.log_.Purge(ctx, jetstream.WithPurgeSequence(keep.mark.Applied+1))
	})
	if err != nil {
		return fmt.Errorf("trim the log below event %d: %w", keep.mark.Applied+1, err)
	}
	s.log.Info("trimmed the log", "below_event", keep.mark.Applied+1)
	for _, old := range snaps[2:] {
		err := retry(ctx, func(ctx context.Context) error { return s.snaps.Delete(ctx, old.name) })
		if err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
			return fmt.Errorf("remove the old copy %s of the view: %w", old.name, err)
		}
	}
	return nil
}

// snapshots lists the copies of the views of this log, newest first.
func (s *Store) snapshots(ctx context.Context) ([]snapshot, error) {
	infos, err := listObjects(ctx, s.snaps)
	if err != nil {
		return nil, fmt.Errorf("list the copies of the views in %s: %w", snapshotsBucket(s.stream), err)
	}
	var snaps []snapshot
	for _, info := range infos {
		var m mark
		if info.Deleted || json.Unmarshal([]byte(info.Metadata[snapshotMark]), &m) != nil ||
			m.Stream != s.stream || !m.Created.Equal(s.created) {
			continue
		}
		snaps = append(snaps, snapshot{name: info.Name, mark: m, size: info.Size, made: info.ModTime})
	}
	slices.SortFunc(snaps, newestFirst)
	return snaps, nil
}

// newestFirst orders copies of the views from the newest.
func newestFirst(a, b snapshot) int { return cmp.Compare(b.mark.Applied, a.mark.Applied) }

// restoreSnapshot makes the newest copy of the views the view, in place of
// the one in s.viewDir, when the view is to be built anew (fresh) or the
// copy is ahead of it: a view that lags behind the log's first event could
// not apply the log, and one that lags behind the copy would apply the
// events the copy already holds. It reports whether it restored, and the
// mark of the view then.
func (s *Store) restoreSnapshot(ctx context.Context, first uint64, m mark, fresh bool) (mark, bool, error) {
	if fresh {
		m.Applied = 0
	}
	snap, ok, err := s.readNewerCopy(ctx, first, m.Applied)
	if !ok || err != nil {
		return m, false, err
	}
	if err := s.installCopy(); err != nil {
		return m, false, err
	}
	return snap.mark, true, nil
}

// readNewerCopy reads the newest copy of the views into restoreDir, if it
// is ahead of a view that applied the log up to applied. A view behind the
// log's first event needs one: without, it is an error.
//
// A copy the bucket lists may be gone when it is read, or not read back
// whole: one whose check after its put found it damaged is removed
// (takeSnapshot), and a replica a moment behind still lists it. The copy
// before it is read then, if the log still holds the events after it:
// the log is trimmed below the second newest copy, not the newest.
func (s *Store) readNewerCopy(ctx context.Context, first, applied uint64) (snapshot, bool, error) {
	snaps, err := s.snapshots(ctx)
	if err != nil {
		return snapshot{}, false, err
	}
	var unread error // why the newer copies could not be read
	for _, snap := range snaps {
		if snap.mark.Applied <= applied || snap.mark.Applied+1 < first {
			break
		}
		dir := s.restoreDir()
		if err := emptyDir(dir); err != nil {
			return snap, false, err
		}
		start := time.Now()
		err := s.fetchSnapshot(ctx, snap, store.DatabasePath(dir))
		if err == nil {
			s.log.Info("read a copy of the views from the cluster", "view", s.viewDir, "event", snap.mark.Applied, "bytes", snap.size, "took", time.Since(start).Round(time.Millisecond))
			return snap, true, nil
		}
		os.RemoveAll(dir)
		err = fmt.Errorf("read the copy %s of the views from %s: %w", snap.name, snapshotsBucket(s.stream), err)
		if !errors.Is(err, jetstream.ErrObjectNotFound) && !errors.Is(err, jetstream.ErrDigestMismatch) {
			return snap, false, err
		}
		s.log.Warn("a copy of the views is gone or damaged; trying the one before it", "err", err)
		unread = errors.Join(unread, err)
	}
	if applied+1 < first {
		return snapshot{}, false, errors.Join(fmt.Errorf("the log of the mesh starts at event %d (the events before it were trimmed) and this view applied it up to event %d, but the bucket %s holds no copy of the views that covers them: the log was trimmed, or the bucket emptied, by other means than the brokers'; the mail of the trimmed events cannot be read back, and a view built anew would miss it: restore the stream and the bucket from the cluster's backup", first, applied, snapshotsBucket(s.stream)), unread)
	}
	return snapshot{}, false, nil
}

// installCopy makes the copy read into restoreDir the view's folder. The
// view must be closed.
func (s *Store) installCopy() error {
	if err := os.RemoveAll(s.viewDir); err != nil {
		return fmt.Errorf("remove the view %s to restore a copy of the views: %w", s.viewDir, err)
	}
	if err := os.Rename(s.restoreDir(), s.viewDir); err != nil {
		return fmt.Errorf("restore a copy of the views into %s: %w", s.viewDir, err)
	}
	return nil
}

// restoreLagging puts the newest copy of the views in place of the running
// view, which needs event seq of the log and finds the log trimmed past
// it: the broker lagged behind by more than the log keeps (a host asleep
// while the others wrote, a connection lost for long). The copy is read
// while the view still serves reads; they fail only while one replaces
// the other. s.applyMu is held.
func (s *Store) restoreLagging(ctx context.Context, seq, first uint64) error {
	s.log.Warn("the log was trimmed past this view; restoring the newest copy of the views", "needs", seq, "log_starts", first)
	snap, ok, err := s.readNewerCopy(ctx, first, s.applied())
	if err == nil && !ok {
		err = fmt.Errorf("no copy of the views in %s is ahead of this view (event %d)", snapshotsBucket(s.stream), s.applied())
	}
	if err != nil {
		return fmt.Errorf("this broker's view needs event %d of the log, which now starts at event %d, and could not be restored from a copy: %w; stop the broker (ipcmesh stop): the one that takes its place builds its view from the newest copy as it opens", seq, first, err)
	}
	old := s.viewNow()
	if err := old.Close(); err != nil {
		s.log.Warn("close the lagging view", "err", err)
	}
	err = s.installCopy()
	var view *store.Store
	if err == nil {
		view, err = store.Open(s.viewOptions())
	}
	m := snap.mark
	if err == nil {
		if m, err = resume(view, m); err != nil {
			view.Close()
		}
	}
	if err != nil {
		// Reads go on failing with the old view's ErrClosed; writes fail
		// with this.
		return fmt.Errorf("restore the copy %s of the views in place of the lagging view in %s: %w; free what it needs (a full disk?) and stop the broker (ipcmesh stop): the one that takes its place builds its view from the newest copy as it opens", snap.name, s.viewDir, err)
	}
	s.mu.Lock()
	s.bodies = make(map[string]uint64)
	s.mark = m
	s.mu.Unlock()
	s.view.Store(view)
	s.advance(m.Applied)
	if err := s.saveMark(); err != nil {
		s.log.Warn("record the view's place in the log", "err", err)
	}
	s.log.Info("restored the view from a copy in the cluster", "view", s.viewDir, "event", m.Applied)
	return nil
}

// fetchSnapshot reads the copy snap into the file path. A read that ends
// with a digest that does not match (chunks lost on the way, as on a busy
// machine; see blob) is made again, a few times.
func (s *Store) fetchSnapshot(ctx context.Context, snap snapshot, path string) error {
	for mismatches := 0; ; mismatches++ {
		err := retry(ctx, func(ctx context.Context) error {
			rctx, cancel := context.WithTimeout(ctx, blobReadTime(snap.size))
			defer cancel()
			return s.snaps.GetFile(rctx, snap.name, path)
		})
		if !errors.Is(err, jetstream.ErrDigestMismatch) || mismatches == maxMismatches {
			return err
		}
		s.log.Warn("a copy of the views did not match its digest; reading it again", "object", snap.name)
	}
}
