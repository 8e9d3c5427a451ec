package natsstore

import (
	"context"
	"errors"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ipcmesh/ipcmesh"
)

// leases hold names mesh-wide. A name is a key of the names bucket whose
// value is the holding host's id (kept in its data folder, so that the
// broker that takes over on the same host inherits the leases); the bucket's TTL removes a key its
// holder stopped renewing. Taking a name is one kv.Create, which the
// cluster refuses while the key exists: two brokers can never both take it.
type leases struct {
	kv    jetstream.KeyValue
	owner string
	ttl   time.Duration
	log   *slog.Logger
	stops *stops // the stops of this process that a wait noticed

	mu   sync.Mutex
	mine map[string]uint64 // name -> revision of our lease
	seen map[string]lease  // every lease in the bucket, as the watcher saw it

	watcher jetstream.KeyWatcher
	stop    context.CancelFunc
	done    sync.WaitGroup
}

type lease struct {
	owner string
	at    time.Time // when it was last renewed, by this host's clock
}

func newLeases(ctx context.Context, kv jetstream.KeyValue, owner string, ttl time.Duration, log *slog.Logger, st *stops) (*leases, error) {
	l := &leases{kv: kv, owner: owner, ttl: ttl, log: log, stops: st, mine: make(map[string]uint64), seen: make(map[string]lease)}
	w, err := kv.WatchAll(context.WithoutCancel(ctx))
	if err != nil {
		return nil, err
	}
	l.watcher = w
	// The watcher first replays what is in the bucket; the nil entry marks
	// the end of that, after which the presence it holds is current.
	initial := make(chan struct{})
	ctx, l.stop = context.WithCancel(context.WithoutCancel(ctx))
	l.done.Add(2)
	go func() {
		defer l.done.Done()
		l.watch(ctx, w, initial)
	}()
	go func() {
		defer l.done.Done()
		l.renew(ctx)
	}()
	select {
	case <-initial:
		return l, nil
	case <-ctx.Done():
		l.close(true) // nothing is held yet: this stops the watcher
		return nil, ctx.Err()
	}
}

func (l *leases) watch(ctx context.Context, w jetstream.KeyWatcher, initial chan struct{}) {
	replaying := true
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-w.Updates():
			if !ok {
				return
			}
			if e == nil {
				replaying = false
				close(initial)
				continue
			}
			l.mu.Lock()
			if e.Operation() == jetstream.KeyValuePut {
				at := time.Now()
				if replaying {
					at = e.Created()
				}
				l.seen[e.Key()] = lease{owner: string(e.Value()), at: at}
			} else {
				delete(l.seen, e.Key())
			}
			l.mu.Unlock()
		}
	}
}

// renew rewrites every lease this broker holds three times per TTL, each
// rewrite conditional on the revision it wrote last: a lease that expired
// (this host was cut off) and was taken by another broker is never
// overwritten, only dropped; one that expired and nobody took is taken
// again, since the name's connections here still act as it.
//
// A cluster out of reach fails every renewal of every round: that is said
// once when it starts and once when it ends, not for each name each round,
// which buried the rest of the log for as long as the outage lasted.
func (l *leases) renew(ctx context.Context) {
	t := time.NewTicker(l.ttl / 3)
	defer t.Stop()
	var since time.Time // when renewals began to fail; zero while they succeed
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		failed, tried, err := l.renewRound(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case failed > 0 && since.IsZero():
			since = time.Now()
			l.log.Warn("could not renew this host's mesh-wide hold on its names; retrying quietly until it works (another host can take a name whose lease runs out meanwhile)",
				"names", tried, "failed", failed, "every", l.ttl/3, "err", err)
		case failed > 0:
			l.log.Debug("still could not renew the mesh-wide hold on names", "names", tried, "failed", failed, "err", err)
		case !since.IsZero():
			l.log.Info("renewed this host's mesh-wide hold on its names again", "names", tried, "after", time.Since(since).Round(time.Second))
			since = time.Time{}
		}
	}
}

// renewRound renews every lease held once and reports how many it tried,
// how many of those failed, and the first failure. The whole round has a
// third of the TTL: with the cluster out of reach, names renewed one after
// another each waiting out a timeout of their own made a round last as
// many timeouts as there were names, and the names last in it went
// unrenewed for longer than their lease once the cluster was back.
func (l *leases) renewRound(ctx context.Context) (failed, tried int, first error) {
	l.mu.Lock()
	mine := make(map[string]uint64, len(l.mine))
	for n, rev := range l.mine {
		mine[n] = rev
	}
	l.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, l.ttl/3)
	defer cancel()
	for name, rev := range mine {
		tried++
		next, err := l.kv.Update(ctx, name, []byte(l.owner), rev)
		if errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyNotFound) {
			// The lease is not at the revision written last: it
			// expired while the cluster could not be written (a
			// quorum lost for longer than the TTL), or a renewal
			// whose ack was lost was stored all the same. The name's
			// connections here still act as it: hold it again,
			// unless another host took it meanwhile.
			next, err = l.retake(ctx, name)
		}
		l.mu.Lock()
		_, still := l.mine[name]
		switch {
		case err == nil && still:
			l.mine[name] = next
		case err == nil:
			// Released while this renewal was under way.
			l.mu.Unlock()
			l.drop(name, next)
			continue
		case errors.Is(err, errHeldElsewhere):
			if l.mine[name] == rev {
				delete(l.mine, name)
			}
			l.log.Warn("lost the mesh-wide hold on a name to another host (this host was cut off from the cluster for longer than the lease)", "name", name)
		default:
			failed++
			if first == nil {
				first = err
			}
		}
		l.mu.Unlock()
	}
	return failed, tried, first
}

// errHeldElsewhere is retake's answer when another host holds the name.
var errHeldElsewhere = errors.New("held by another host")

// retake holds name again for this host after its lease was found at
// another revision than the one written last, and returns the revision to
// renew from.
func (l *leases) retake(ctx context.Context, name string) (uint64, error) {
	rev, err := l.kv.Create(ctx, name, []byte(l.owner))
	if !errors.Is(err, jetstream.ErrKeyExists) {
		return rev, err
	}
	e, err := l.kv.Get(ctx, name)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		// Deleted between the two: the next renewal creates it.
		return 0, err
	case err != nil:
		return 0, err
	case string(e.Value()) != l.owner:
		return 0, errHeldElsewhere
	}
	return e.Revision(), nil
}

func (l *leases) claim(ctx context.Context, name string) error {
	if err := ipcmesh.ValidateName(name); err != nil {
		return err
	}
	l.mu.Lock()
	_, ok := l.mine[name]
	l.mu.Unlock()
	if ok {
		return nil
	}
	rev, err := l.take(ctx, name)
	if err != nil {
		return err
	}
	l.mu.Lock()
	l.mine[name] = rev
	l.mu.Unlock()
	return nil
}

// take creates the lease on name. The bucket's reads may be served by a
// replica a moment behind its leader, so a release that was just made may
// not be seen yet: kv.Create then says the key exists. A refusal is
// believed only once it has held for staleReads, and only on the answer
// of a read that names another host: a read that got no answer (a
// replica stopped, or cut off) says nothing of who holds the name, and
// believing it refused the name to the very host that held it. The
// create itself is decided by the leader, so two brokers never both take
// the name. A cluster that does not answer, as while it elects the
// bucket's leader after the server that led it died (seconds, with its
// quorum whole), is asked again until ctx ends: one try failed every
// command of every host for as long as the election lasted. What ends it
// other than the name held elsewhere is the cluster's error, which
// notHeld words.
func (l *leases) take(ctx context.Context, name string) (uint64, error) {
	var heldSince time.Time // when a read first named another host
	var last error          // the last answer that was no answer
	for {
		rev, err := l.try(ctx, func(ctx context.Context) (uint64, error) { return l.kv.Create(ctx, name, []byte(l.owner)) })
		switch {
		case err == nil:
			return rev, nil
		case errors.Is(err, jetstream.ErrKeyExists) || changedMeanwhile(err):
			// The lease of this host's previous broker, which was lost:
			// its successor takes the lease over rather than wait for
			// its TTL.
			var e jetstream.KeyValueEntry
			e, err = l.get(ctx, name)
			switch {
			case err == nil && string(e.Value()) == l.owner:
				return e.Revision(), nil
			case err == nil:
				if heldSince.IsZero() {
					heldSince = time.Now()
				}
				if time.Since(heldSince) >= staleReads {
					return 0, ipcmesh.Errorf(ipcmesh.CodeNameTaken, "%q is held by the broker of another host", name)
				}
			case errors.Is(err, jetstream.ErrKeyNotFound):
				// Released between the two: create it again.
			case !retryable(err):
				return 0, err
			default:
				last = err
			}
		case !retryable(err):
			return 0, err
		default:
			last = err
		}
		if l.stops.pause(ctx, staleReads/10); ctx.Err() != nil {
			if last == nil {
				last = ctx.Err()
			}
			return 0, last
		}
	}
}

// notHeld is the error of a claim of name that take ended with err: a
// refusal (the name held elsewhere, a bad name) as it is, the cluster's
// error as unavailable.
func notHeld(name string, err error) error {
	var refusal *ipcmesh.Error
	if err == nil || errors.As(err, &refusal) {
		return err
	}
	return unavailable("could not hold the name "+name+" for this host", err)
}

// changedMeanwhile tells the answer of a create that found the key's
// last revision other than the one it read, which the client library
// passes on as it is when the key had been deleted (a released lease):
// the key was written since, as by a try of this very take whose answer
// was lost. Which host holds it is read, as when it exists.
func changedMeanwhile(err error) bool {
	var api *jetstream.APIError
	return errors.As(err, &api) && (api.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence || api.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}

// try makes one request of take, bounded by publishAttempt: a request in
// flight to a server that stopped is never answered, and the next may
// reach another.
func (l *leases) try(ctx context.Context, f func(context.Context) (uint64, error)) (uint64, error) {
	actx, cancel := context.WithTimeout(ctx, publishAttempt)
	defer cancel()
	defer l.stops.endedBy(actx)
	return f(actx)
}

// get reads the lease on name, bounded as try bounds a create.
func (l *leases) get(ctx context.Context, name string) (jetstream.KeyValueEntry, error) {
	actx, cancel := context.WithTimeout(ctx, publishAttempt)
	defer cancel()
	defer l.stops.endedBy(actx)
	return l.kv.Get(actx, name)
}

// staleReads bounds how long a replica of the names bucket may lag behind
// a release before a claim believes the name is still held.
const staleReads = 500 * time.Millisecond

func (l *leases) release(name string) {
	l.mu.Lock()
	rev, ok := l.mine[name]
	delete(l.mine, name)
	l.mu.Unlock()
	if !ok {
		return
	}
	l.drop(name, rev)
}

// drop deletes this host's lease on name, at revision rev.
func (l *leases) drop(name string, rev uint64) {
	// At least a few seconds: a release that times out leaves the name
	// held until its TTL, which a short TTL does not make short enough.
	ctx, cancel := context.WithTimeout(context.Background(), max(l.ttl/3, 2*time.Second))
	defer cancel()
	err := l.kv.Delete(ctx, name, jetstream.LastRevision(rev))
	switch {
	case errors.Is(err, jetstream.ErrKeyRevisionMismatch):
		// The lease moved past rev: a renewal under way wrote it, and
		// drops it itself once it finds the name released, or it ran
		// out and another host holds the name now. Neither is this
		// release's to undo.
		l.log.Debug("the mesh-wide hold on a name moved on before its release", "name", name, "err", err)
	case err != nil:
		// The lease ends with its TTL all the same.
		l.log.Warn("release the mesh-wide hold on a name", "name", name, "err", err)
	}
}

func (l *leases) held(name string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.mine[name]; ok {
		return true
	}
	return l.othersLocked(name)
}

// othersLocked reports whether the lease on name seen in the bucket is
// another host's and alive. This host's own leases are what mine says:
// the watcher hears of them later than the writes that made them.
func (l *leases) othersLocked(name string) bool {
	le, ok := l.seen[name]
	return ok && le.owner != l.owner && time.Since(le.at) < l.ttl
}

func (l *leases) holders() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var names []string
	for n := range l.mine {
		names = append(names, n)
	}
	for n := range l.seen {
		if _, ok := l.mine[n]; !ok && l.othersLocked(n) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// close stops renewing and watching, and gives up every name held, so
// that a broker that stops gracefully frees its names at once rather than
// after the TTL. With the cluster out of reach (reachable false) nothing
// is asked of it: the watcher's consumer could not be deleted nor a name
// given up, and each request waited out its timeout, holding the broker's
// exit, and so its successor's start, for ten seconds; the TTL ends the
// leases all the same, and the connection's close the watcher.
func (l *leases) close(reachable bool) {
	l.stop()
	l.done.Wait()
	l.mu.Lock()
	names := make([]string, 0, len(l.mine))
	for n := range l.mine {
		names = append(names, n)
	}
	l.mu.Unlock()
	if !reachable {
		if len(names) > 0 {
			l.log.Warn("the NATS cluster is out of reach: the names this host held stay held by it until their leases end", "names", len(names), "lease", l.ttl)
		}
		return
	}
	// Together, the watcher's stop too: with a cluster that does not
	// answer (no quorum) each request waits out its timeout, and one after
	// another they held the broker's exit for as many timeouts.
	var wg sync.WaitGroup
	wg.Go(func() { l.watcher.Stop() })
	for _, n := range names {
		wg.Go(func() { l.release(n) })
	}
	wg.Wait()
}
