package gateway

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/auth"
	"github.com/ipcmesh/ipcmesh/ipc"
)

// authenticate returns who the request's key acts as. The key comes from
// the Authorization header or a /k/KEY/ path. A key of the wrong shape is
// refused here. A key whose id the face has seen before is checked here
// too, against the name its id was bound to (the tag covers both, so this
// needs no round trip), and then spends a token of its rate limit: a key's
// flood stops at the face. Only then is the key's life checked: with the
// broker, unless the face remembers it live (livekeys.go), which it does
// only while the name's peer would hear of its revocation, so a revoked
// key fails here at once either way.
//
// A client sending keys that are not valid spends the budget of its
// address, not the broker's: every check of a key the face has not seen
// is a round trip through the face's one unnamed connection, which the
// broker rate limits as a whole. Once that budget is spent, only keys
// that would cost such a check, or that fail the face's own, are refused,
// and an unseen key the mesh's list of keys shows real is let through
// (keylist.go). A key whose tag checks out here costs no round trip, and
// refusing it too would let anyone lock every key holder out: behind a
// proxy or tunnel every client has the same address.
func (s *Server) authenticate(r *http.Request) (ipcmesh.AccessKey, error) {
	ri := infoOf(r)
	key, err := keyOf(r, ri)
	if err != nil {
		return ipcmesh.AccessKey{}, err
	}
	id, err := auth.AccessKeyID(key)
	if err != nil {
		return ipcmesh.AccessKey{}, err
	}
	addr := clientAddr(r)
	now := time.Now()
	loaded, seen := s.keyNames.Load(id)
	var known *knownKey
	var ticket keyTicket
	if !seen {
		if wait, ok := s.failures.peek(addr, now); !ok && !s.listed(r.Context(), key, id) {
			return ipcmesh.AccessKey{}, tooManyBadKeys(wait)
		}
	} else {
		known = loaded.(*knownKey)
		name := known.name
		if !known.is(key) && !s.opts.Mesh.Keys.VerifyAccessKey(key, name) {
			if wait, ok := s.failures.allow(addr, now); !ok {
				return ipcmesh.AccessKey{}, tooManyBadKeys(wait)
			}
			return ipcmesh.AccessKey{}, keyRefused(ipc.ErrBadAccessKey, "")
		}
		if wait, ok := s.limits.allow(id, now); !ok {
			return ipcmesh.AccessKey{}, rateLimited(wait, fmt.Sprintf("more than %g requests a second with key %s", s.opts.Rate, id))
		}
		if info, ok := s.sessions.liveKey(name, id); ok {
			ri.keyID = info.ID
			s.conns.keyed(r, info.ID)
			return info, nil
		}
		ticket = s.sessions.keyTicket(name)
	}
	info, err := s.admin.CheckKey(r.Context(), key)
	if err != nil {
		if ipcmesh.CodeOf(err) != ipcmesh.CodeUnauthorized {
			return ipcmesh.AccessKey{}, err
		}
		s.failures.allow(addr, now)
		// A key whose tag passed the check above is a real key of the
		// name its id is bound to: its holder may be told that name.
		var name string
		if known != nil {
			name = known.name
		}
		return ipcmesh.AccessKey{}, keyRefused(err, name)
	}
	ri.keyID = info.ID
	s.sessions.rememberKey(ticket, info)
	s.conns.keyed(r, info.ID)
	if !seen {
		// A key id names one name forever: remember it for the local check.
		s.keyNames.Store(info.ID, &knownKey{name: info.Name, key: key})
		if wait, ok := s.limits.allow(info.ID, now); !ok {
			return info, rateLimited(wait, fmt.Sprintf("more than %g requests a second with key %s", s.opts.Rate, info.ID))
		}
	}
	return info, nil
}

// listed reports whether key is a real key by the mesh's list of keys:
// its id is listed, not revoked, and its tag checks out against the name
// listed for it.
func (s *Server) listed(ctx context.Context, key, id string) bool {
	name, ok := s.keyList.nameOf(ctx, id)
	return ok && s.opts.Mesh.Keys.VerifyAccessKey(key, name)
}

// readKeyList reads the mesh's keys that are not revoked, id to name.
func (s *Server) readKeyList(ctx context.Context) (map[string]string, error) {
	ctx, cancel := context.WithTimeout(ctx, setupTimeout)
	defer cancel()
	keys, err := s.admin.Keys(ctx)
	if err != nil {
		return nil, err
	}
	names := make(map[string]string, len(keys))
	for _, k := range keys {
		if k.Revoked.IsZero() {
			names[k.ID] = k.Name
		}
	}
	return names, nil
}

// tooManyBadKeys refuses a key from an address that has spent its budget
// for keys that are not valid.
func tooManyBadKeys(wait time.Duration) error {
	return rateLimited(wait, "too many requests with keys that are not valid came from this address")
}

// knownKey is a key the broker once accepted, and the name its id is
// bound to for good.
type knownKey struct {
	name string
	key  string
}

// is reports whether key is the key the broker accepted. A key's tag is
// the HMAC of its id and name, so its id has this one key and no other:
// the same bytes again need no HMAC, which was 2% of the face's CPU under
// eight REST senders. Bytes that differ are checked by their tag, as a key
// of an id not seen before is by the broker.
func (k *knownKey) is(key string) bool {
	return subtle.ConstantTimeCompare([]byte(key), []byte(k.key)) == 1
}

// keyRefused words the broker's refusal of a key for the person holding
// it: the broker says what is wrong with the key, the face how to get
// another. name is the name the key was made for, "" when the face does not
// know it.
func keyRefused(err error, name string) error {
	var e *ipcmesh.Error
	if !errors.As(err, &e) {
		return err
	}
	if name == "" {
		name = "NAME"
	}
	return &ipcmesh.Error{Code: e.Code, Message: fmt.Sprintf("%s: ask the mesh's owner for a new key (ipcmesh key create %s)", e.Message, name)}
}

// keyOf returns the request's key, or an unauthorized error saying how to
// send one.
func keyOf(r *http.Request, ri *reqInfo) (string, error) {
	var header string
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, k, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(k) == "" {
			return "", ipcmesh.Errorf(ipcmesh.CodeUnauthorized, "the Authorization header must be \"Bearer KEY\" with an ipcmesh access key")
		}
		header = strings.TrimSpace(k)
	}
	switch {
	case header != "" && ri.pathKey != "" && header != ri.pathKey:
		return "", ipcmesh.Errorf(ipcmesh.CodeUnauthorized, "the request carries one key in its path and another in its Authorization header: send one")
	case header != "":
		return header, nil
	case ri.pathKey != "":
		return ri.pathKey, nil
	}
	return "", ipcmesh.Errorf(ipcmesh.CodeUnauthorized,
		"an access key is required: send \"Authorization: Bearer KEY\" (or use the path /k/KEY/...); make a key with ipcmesh key create NAME")
}

// clientAddr is the request's remote IP address.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func rateLimited(wait time.Duration, why string) *ipcmesh.Error {
	return ipcmesh.RateLimited("rate limited: "+why, wait)
}

// limiters is a token bucket per key (a key id, a client address). Buckets
// that have filled up again are pruned now and then: a full bucket is what
// a new one would be, so pruning forgets nothing.
type limiters struct {
	limit rate.Limit
	burst int

	mu     sync.Mutex
	m      map[string]*rate.Limiter
	pruned time.Time
}

// pruneEvery is how often limiters looks for full buckets to drop.
const pruneEvery = time.Minute

func newLimiters(perSecond float64, burst int) *limiters {
	return &limiters{limit: rate.Limit(perSecond), burst: burst, m: map[string]*rate.Limiter{}}
}

func (l *limiters) get(key string, now time.Time) *rate.Limiter {
	if now.Sub(l.pruned) > pruneEvery {
		l.pruned = now
		for k, lim := range l.m {
			if lim.TokensAt(now) >= float64(l.burst) {
				delete(l.m, k)
			}
		}
	}
	lim := l.m[key]
	if lim == nil {
		lim = rate.NewLimiter(l.limit, l.burst)
		l.m[key] = lim
	}
	return lim
}

// allow spends a token of key's bucket, or says how long to wait for one.
func (l *limiters) allow(key string, now time.Time) (time.Duration, bool) {
	return l.allowN(key, now, 1)
}

// allowN spends n tokens of key's bucket, or says how long to wait for
// them (a second, when n is over the burst and never fits).
func (l *limiters) allowN(key string, now time.Time, n int) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	res := l.get(key, now).ReserveN(now, n)
	if !res.OK() {
		return time.Second, false
	}
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return d, false
	}
	return 0, true
}

// peek reports whether key's bucket holds a token, without spending it.
func (l *limiters) peek(key string, now time.Time) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := l.m[key]
	if !ok {
		return 0, true
	}
	if t := lim.TokensAt(now); t < 1 {
		return time.Duration((1 - t) / float64(l.limit) * float64(time.Second)), false
	}
	return 0, true
}
