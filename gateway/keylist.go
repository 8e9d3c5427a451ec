package gateway

import (
	"context"
	"sync"
	"time"
)

// keyListEvery bounds how often the face asks the broker for the list of
// keys: a flood of made-up key ids would otherwise ask at its own pace.
const keyListEvery = 5 * time.Second

// keyList is the mesh's list of access keys, id to name, as the face last
// read it. It lets the face check the tag of a key it has not seen yet
// without the broker's key check, once the client's address has spent its
// budget for keys that are not valid: a flood of made-up keys from behind
// the same tunnel would otherwise lock out a holder of a real key whom this
// face has not met (after the face restarts, say). A key made since the
// last reading waits for the next one, at most keyListEvery later.
type keyList struct {
	mu     sync.Mutex
	names  map[string]string // key id -> name, revoked keys left out
	next   time.Time         // no reading before this
	reader func(context.Context) (map[string]string, error)
}

// nameOf returns the name the key with id acts as, reading the list again
// if id is not in it and the last reading is old enough. ok is false for
// an id the mesh does not know, a revoked key's, or when the list cannot
// be read now.
func (l *keyList) nameOf(ctx context.Context, id string) (name string, ok bool) {
	l.mu.Lock()
	if name, ok = l.names[id]; ok || time.Now().Before(l.next) {
		l.mu.Unlock()
		return name, ok
	}
	// One reading at a time; the requests meanwhile see the list before.
	l.next = time.Now().Add(keyListEvery)
	l.mu.Unlock()
	names, err := l.reader(ctx)
	if err != nil {
		return "", false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.names = names
	name, ok = names[id]
	return name, ok
}
