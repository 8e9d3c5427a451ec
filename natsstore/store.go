package natsstore

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/store"
)

// Store is the mesh's state in a NATS JetStream cluster, shared by the
// brokers of several hosts. Its methods are safe for concurrent use.
type Store struct {
	opts      Options
	log       *slog.Logger
	dir       string // the data folder
	nc        *nats.Conn
	js        jetstream.JetStream
	stream    string
	subject   string
	log_      jetstream.Stream // the log, for reading events the consumer did not bring
	leaderLog eventReader      // the same, of its leader alone; nil: of the replicas alone (readevent.go)
	blobs     jetstream.ObjectStore
	snaps     jetstream.ObjectStore // the copies of the views (snapshot.go)
	created   time.Time             // when the log was made: a log made anew is another
	names     *leases
	origin    string
	maxInline int
	view      atomic.Pointer[store.Store] // swapped when a lagging view restores a copy (snapshot.go)
	viewDir   string
	cc        jetstream.ConsumeContext

	applyMu sync.Mutex // held while an event is applied: one at a time, in order

	counter atomic.Uint64
	clock   atomic.Pointer[time.Time] // the time of the event being applied
	seq     atomic.Uint64             // the last event of the log applied to the view

	mu       sync.Mutex
	pending  map[string]chan outcome // this broker's writes waiting to be applied
	waits    []seqWait
	arrivals func([]store.Delivery)
	revoked  func([]ipcmesh.AccessKey) // hears of the keys other brokers revoked
	mark     mark
	saved    time.Time
	failed   error
	closed   bool
	dead     chan struct{} // closed once the view failed
	quit     chan struct{} // closed by Close

	bodies         map[string]uint64 // the large events the view applied, and where (bodies.go), under mu
	sweepingBodies atomic.Bool
	copying        bool           // a copy of the view is under way (snapshot.go), under mu
	copyDue        bool           // and another was asked for meanwhile
	sweeps         sync.WaitGroup // the sweeps of the bodies bucket, and keepUp
	delivered      atomic.Uint64  // the events the consumer delivered (keepUp)
	silentAt       atomic.Uint64  // delivered+1 when a write last caught up without the consumer, 0 before (write)
	readLeader     atomic.Bool    // events are read of the log's leader, not of any replica (getEvent)
	stops          stops          // the last stop of this process a wait noticed (stops.go)

	closeOnce sync.Once
	closeErr  error
}

type seqWait struct {
	seq uint64
	ch  chan struct{}
}

// mark is what the view's folder records of the log, in view.json: which
// stream the view was built from (a stream made anew, with the same name,
// is another log), how far it has applied it, and when it last swept.
type mark struct {
	Stream  string    `json:"stream"`
	Created time.Time `json:"created"`
	Applied uint64    `json:"applied"`
	Swept   time.Time `json:"swept"`
	// BodiesKnown says that the view recorded every large event it
	// applied from the log's first event: a view an older broker built
	// did not, and does not sweep the bodies bucket (sweepBodiesAt).
	BodiesKnown bool      `json:"bodies_known,omitempty"`
	BodiesSwept time.Time `json:"bodies_swept,omitzero"`
}

// Open connects to the cluster, creates the mesh's stream and buckets if
// they are missing, brings this broker's view up to date with the log and
// returns once it is: every write acked before Open was called can be read.
// logger may be nil.
func Open(ctx context.Context, opts Options, logger *slog.Logger) (*Store, error) {
	opts = opts.withDefaults()
	if opts.Store.Dir == "" {
		return nil, errors.New("open the NATS store: a data folder is required")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	dir, err := filepath.Abs(opts.Store.Dir)
	if err != nil {
		return nil, fmt.Errorf("open the NATS store: %w", err)
	}
	s := &Store{
		opts:    opts,
		log:     logger,
		dir:     dir,
		stream:  opts.Prefix,
		subject: opts.Prefix + ".log",
		origin:  newOrigin(),
		viewDir: filepath.Join(dir, "nats", opts.Prefix),
		pending: make(map[string]chan outcome),
		dead:    make(chan struct{}),
		quit:    make(chan struct{}),
	}
	if err := s.open(ctx); err != nil {
		s.Close()
		if ctx.Err() != nil && retryable(err) && !tooFewServers(err) {
			// What timed out says little; why it may have is the point.
			err = fmt.Errorf("the NATS cluster %s did not answer in time: it has no quorum (most of its servers are down or cut off), is still electing its leaders, or cannot be reached: %w", Redacted(opts.URL), err)
		}
		return nil, err
	}
	return s, nil
}

func (s *Store) open(ctx context.Context) error {
	o := s.opts
	nc, err := connect(o, "ipcmesh broker "+s.origin)
	if err != nil {
		return err
	}
	s.nc = nc
	// Room for the headers in one NATS message; a larger event goes to
	// the object store.
	s.maxInline = int(nc.MaxPayload()) - 4096
	if s.js, err = jetstream.New(nc); err != nil {
		return fmt.Errorf("open the NATS store: %w", err)
	}
	var info *jetstream.StreamInfo
	var waitTold bool
	if err := retry(ctx, func(ctx context.Context) (err error) {
		info, err = s.ensure(ctx)
		if tooFewServers(err) {
			// A cluster whose servers are starting (the brokers that
			// run its nodes start together) or are down for now knows
			// too few of them for the replicas: that passes, as a lost
			// quorum does. The wait is said once, as it starts: a
			// cluster that has fewer servers than asked for is waited
			// for as long as the open may take (a minute for a
			// broker), and its broker said nothing of why until then.
			if !waitTold {
				waitTold = true
				s.log.Warn(fmt.Sprintf("waiting for %d servers of the NATS cluster to keep the mesh on: fewer are up and part of it; a cluster that is forming or restarting has them within seconds, and one with fewer servers never: set IPC_NATS_REPLICAS to at most their number (1, 3 or 5)", s.opts.Replicas),
					"cluster", Redacted(o.URL), "err", err)
			}
			err = &awaitingServers{err}
		}
		return err
	}); err != nil {
		if tooFewServers(err) {
			return fmt.Errorf("%w: fewer than %d of the cluster's servers are up and part of it: start them, or set IPC_NATS_REPLICAS to at most the number of its servers (1, 3 or 5)", err, s.opts.Replicas)
		}
		if unclustered(err) {
			return fmt.Errorf("%w: the NATS server runs JetStream on its own, not in a cluster, and keeps one copy of each write: set IPC_NATS_REPLICAS=1 to keep the mesh there, or make it one of a cluster of 3 servers (a broker's --nats-node joins one with --nats-cluster and --nats-routes)", err)
		}
		return err
	}
	host, err := hostID(filepath.Join(s.dir, "nats", "host-id"))
	if err != nil {
		return err
	}
	if err := retry(ctx, func(ctx context.Context) error { return s.checkSecret(ctx, host) }); err != nil {
		return err
	}
	if err := s.openView(ctx, info); err != nil {
		return err
	}
	// A view far behind the log (new, or its broker stopped while the
	// others wrote) reads what it lacks in batches and applies them in
	// runs, one commit each, where the consumer would bring one event at
	// a time, each on a commit of its own: a new view of 50,000 events
	// opens in a fifth of the time (BenchmarkOpenNewView). What this
	// leaves, the consumer brings.
	if err := s.catchUp(ctx, info.State.LastSeq); err != nil {
		if ferr := s.failure(); ferr != nil || ctx.Err() != nil {
			return cmp.Or(ferr, err)
		}
		s.log.Debug("read the log in batches as the view opens", "err", err)
	}
	if err := retry(ctx, s.consume); err != nil {
		return err
	}
	s.sweeps.Add(1)
	go s.keepUp()
	if err := s.waitApplied(ctx, info.State.LastSeq); err != nil {
		return fmt.Errorf("bring the view in %s up to date with the log (%d events): %w", s.viewDir, info.State.LastSeq, err)
	}
	if err := s.record(); err != nil {
		s.log.Warn("record the cluster in the data folder", "err", err)
	}
	var kv jetstream.KeyValue
	if err := retry(ctx, func(ctx context.Context) (err error) {
		kv, err = s.js.KeyValue(ctx, namesBucket(s.stream))
		return err
	}); err != nil {
		return fmt.Errorf("open the names bucket: %w", err)
	}
	// s.opts, not o: the lease TTL is the mesh's (adoptMeshSettings).
	if s.names, err = newLeases(ctx, kv, host, s.opts.LeaseTTL, s.log, &s.stops); err != nil {
		return fmt.Errorf("watch the names bucket: %w", err)
	}
	return nil
}

// attemptTimeout bounds one request to the cluster while a store opens.
// A request made while the cluster elects its leaders (a few seconds after
// its servers start) is never answered: it is made again rather than
// waited for.
const attemptTimeout = 3 * time.Second

// retryPause spaces the tries of retry. A cluster without a meta leader
// answers at once that it has none: asked again without a pause, a broker
// waiting for a quorum to come back kept a core busy for its whole wait.
const retryPause = 100 * time.Millisecond

// retry calls f with a context of attemptTimeout until it succeeds with
// something other than a timeout, or ctx ends; it returns f's last error,
// or, when ctx ended during an attempt, the last answer the cluster gave:
// the attempt cut short says nothing of why the tries failed, and which
// of the two is returned would otherwise depend on the moment ctx ends.
func retry(ctx context.Context, f func(context.Context) error) error {
	var answer error
	for {
		actx, cancel := context.WithTimeout(ctx, attemptTimeout)
		err := f(actx)
		cancel()
		if err != nil && ctx.Err() != nil && answer != nil && unanswered(err) {
			return answer
		}
		if err == nil || ctx.Err() != nil || !retryable(err) {
			return err
		}
		if !unanswered(err) {
			answer = err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(retryPause):
		}
	}
}

// unanswered reports whether err is a request that ran out of time, or
// whose connection went away under it, rather than an answer.
func unanswered(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, nats.ErrDisconnected) || cutOff(err)
}

// openView opens the local view, or builds it anew when it is of another
// log, unreadable or damaged: the log holds everything it holds, from the
// newest copy of the views on (snapshot.go), which a view built anew, or
// one that lags behind the copy, starts from.
func (s *Store) openView(ctx context.Context, info *jetstream.StreamInfo) error {
	s.created = info.Created
	// What a broker killed while it copied its view, or read a copy, left.
	for _, dir := range []string{s.copyDir(), s.restoreDir()} {
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("clear %s: %w", dir, err)
		}
	}
	first := info.State.FirstSeq
	m, err := readMark(s.viewDir)
	if err == nil && (m.Stream != s.stream || !m.Created.Equal(info.Created) || m.Applied > info.State.LastSeq) {
		err = errors.New("it was built from another stream")
	}
	if err != nil {
		if rerr := os.RemoveAll(s.viewDir); rerr != nil {
			return fmt.Errorf("remove the view %s to build it anew: %w", s.viewDir, rerr)
		}
		s.log.Info("building the view anew from the log", "view", s.viewDir, "why", err, "events", info.State.LastSeq)
		m = mark{Stream: s.stream, Created: info.Created, BodiesKnown: true}
	}
	m, restored, err := s.restoreSnapshot(ctx, first, m, err != nil)
	if err != nil {
		return err
	}
	vo := s.viewOptions()
	view, err := store.Open(vo)
	if err != nil && !errors.Is(err, store.ErrLocked) {
		s.log.Warn("the view cannot be opened; building it anew from the log", "view", s.viewDir, "err", err)
		if rerr := os.RemoveAll(s.viewDir); rerr != nil {
			return fmt.Errorf("remove the view %s to build it anew: %w", s.viewDir, rerr)
		}
		m = mark{Stream: s.stream, Created: info.Created, BodiesKnown: true}
		if m, restored, err = s.restoreSnapshot(ctx, first, m, true); err != nil {
			return err
		}
		view, err = store.Open(vo)
	}
	if err != nil {
		return err
	}
	if err := s.loadBodies(); err != nil {
		view.Close()
		return err
	}
	if m, err = resume(view, m); err != nil {
		view.Close()
		return err
	}
	s.view.Store(view)
	s.mark = m
	s.seq.Store(m.Applied)
	if restored {
		// A view without its mark would be built anew at the next start.
		if err := s.saveMark(); err != nil {
			return err
		}
		s.log.Info("restored the view from a copy in the cluster", "view", s.viewDir, "event", m.Applied)
	}
	return nil
}

// viewOptions are those the view is opened with: the mesh's limits and
// retention, in the view's folder, with the log's clock and no fsync.
func (s *Store) viewOptions() store.Options {
	vo := s.opts.Store
	vo.Dir = s.viewDir
	vo.NoSync = true
	vo.Now = s.now
	return vo
}

func readMark(dir string) (mark, error) {
	var m mark
	data, err := os.ReadFile(filepath.Join(dir, "view.json"))
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return m, fmt.Errorf("view.json: %w", err)
	}
	return m, nil
}

// resume is m, view.json's record of view, brought up to what view's own
// commits record: the last event of the log it holds (store.SetApplied)
// and its last sweep (store.LastSweep). view.json is written after the
// commits, at most once a second, and after a crash can be behind them;
// it is ahead only in a view an older broker, which recorded neither,
// applied events to since. Going on from a place behind, the view would
// apply events again; from a sweep behind, it would sweep at an event no
// other view sweeps at (sweepAt).
func resume(view *store.Store, m mark) (mark, error) {
	held, err := view.Applied()
	var swept time.Time
	if err == nil {
		swept, err = view.LastSweep()
	}
	if err != nil {
		return m, fmt.Errorf("read how far the view in %s holds the log: %w; stop the broker and remove that folder, and the next builds the view anew from the log", view.Dir(), err)
	}
	m.Applied = max(held, m.Applied)
	if swept.After(m.Swept) {
		m.Swept = swept
	}
	return m, nil
}

// saveMark records how far the view has applied the log, and when it
// swept. The view skips fsync, and the mark is written after the view's
// commits, so after a crash the mark is at most behind; the view records
// its place and its sweep in its own commits (store.SetApplied,
// store.LastSweep), which Open goes on from (resume). Applied again on a
// state that holds the events after them, the events would not all be
// decided as they were: a post refused for want of its channel, which a
// later event made, would be stored.
func (s *Store) saveMark() error {
	s.mu.Lock()
	m := s.mark
	s.mu.Unlock()
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	tmp := filepath.Join(s.viewDir, "view.json.tmp")
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("record the view's place in the log: %w", err)
	}
	return os.Rename(tmp, filepath.Join(s.viewDir, "view.json"))
}

// advance records that seq has been applied and wakes those waiting for it.
func (s *Store) advance(seq uint64) {
	s.seq.Store(seq)
	s.mu.Lock()
	s.mark.Applied = seq
	kept := s.waits[:0]
	for _, w := range s.waits {
		if w.seq <= seq {
			close(w.ch)
		} else {
			kept = append(kept, w)
		}
	}
	s.waits = kept
	save := time.Since(s.saved) > time.Second
	if save {
		s.saved = time.Now()
	}
	s.mu.Unlock()
	if save {
		if err := s.saveMark(); err != nil {
			s.log.Warn("record the view's place in the log", "err", err)
		}
	}
}

func (s *Store) applied() uint64 { return s.seq.Load() }

// viewNow is the view. A call on it made while a lagging view is replaced
// by a copy of the views (restoreLagging) fails with store.ErrClosed, on
// which the broker hangs up and the client asks again.
func (s *Store) viewNow() *store.Store { return s.view.Load() }

// waitApplied returns once the view has applied the log up to seq.
func (s *Store) waitApplied(ctx context.Context, seq uint64) error {
	s.mu.Lock()
	if s.seq.Load() >= seq {
		s.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	s.waits = append(s.waits, seqWait{seq, ch})
	s.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-s.dead:
		return s.failure()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// fail stops the view: a fault of its disk, or an event it cannot apply.
// Writes fail from now on, with err; reads go on from what it has.
func (s *Store) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failed != nil {
		return
	}
	s.failed = err
	close(s.dead)
	s.log.Error("the view stopped applying the log", "err", err)
}

// now is the view's clock: the time of the event being applied, so that
// every view stamps and expires alike, or the wall clock between events.
func (s *Store) now() time.Time {
	if t := s.clock.Load(); t != nil {
		return *t
	}
	return time.Now()
}

func (s *Store) newID() string {
	return s.origin + "." + strconv.FormatUint(s.counter.Add(1), 10)
}

// Record is what a data folder remembers of the cluster its last broker
// used, in DATA/nats/cluster.json, so that a peer that takes over without
// IPC_STORE in its environment (an assistant's MCP server, a one-shot
// command) serves the same mesh instead of starting a store of its own.
type Record struct {
	URL    string `json:"url"`    // every server the broker knew of, comma-separated
	Prefix string `json:"prefix"` // IPC_NATS_PREFIX
	// The files of IPC_NATS_CREDS and IPC_NATS_CA, as absolute paths:
	// without them a peer that takes over could not reach a cluster of
	// one's own. A password or token is never written here; it comes
	// from the environment alone, as IPC_SHARED_SECRET does.
	Creds string `json:"creds,omitempty"`
	CA    string `json:"ca,omitempty"`
}

// Recorded returns the Record of the data folder dir, if it has one.
func Recorded(dir string) (Record, bool) {
	var r Record
	data, err := os.ReadFile(filepath.Join(dir, "nats", "cluster.json"))
	if err != nil || json.Unmarshal(data, &r) != nil || r.URL == "" {
		return Record{}, false
	}
	return r, true
}

// record writes the Record, with the servers the connection discovered
// beside those it was given: the server a broker started itself (its
// --nats-node) dies with it.
func (s *Store) record() error {
	urls, err := ParseURL(s.opts.URL)
	if err != nil {
		return err
	}
	for _, u := range s.nc.DiscoveredServers() {
		if !slices.Contains(urls, u) {
			urls = append(urls, u)
		}
	}
	r := Record{URL: strings.Join(urls, ","), Prefix: s.opts.Prefix}
	for _, f := range []struct{ from, to *string }{{&s.opts.Creds, &r.Creds}, {&s.opts.CA, &r.CA}} {
		if *f.from != "" {
			if *f.to, err = filepath.Abs(*f.from); err != nil {
				return err
			}
		}
	}
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	path := filepath.Join(s.dir, "nats", "cluster.json")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// hostID reads the id this data folder's brokers hold names with, making
// it on first use.
func hostID(path string) (string, error) {
	if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
		return string(b), nil
	}
	id := newOrigin()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", fmt.Errorf("record this host's id: %w", err)
	}
	if err := os.WriteFile(path, []byte(id), 0o600); err != nil {
		return "", fmt.Errorf("record this host's id: %w", err)
	}
	return id, nil
}

// newOrigin names this broker's writes in the log for as long as the store
// is open.
func newOrigin() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}
