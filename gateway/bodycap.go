package gateway

import (
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/internal/human"
)

// bodyBudget bounds the bytes of request bodies in progress. The face
// reads a body whole before it acts on it (a message to send, a JSON-RPC
// call) and holds it, and what it decodes to, until the request ends.
// maxOpenPerKey bounds how many requests a key has in progress, not how
// much they hold: 64 bodies of the default limit's 16 MiB are 1 GiB,
// which one key (a script uploading in parallel, or a key that leaked)
// could make the face hold at once, and with it "ipcmesh broker --http"'s
// broker, until the system's out-of-memory killer ends the process. So a
// body counts from the moment its key is checked until its request ends:
// by the length it declares, before it is read, or, one sent in chunks
// with no length, by what has been read of it. A key may have twice the
// limit in progress, every key together eight times; a request past
// either is refused.
type bodyBudget struct {
	maxBody, perKey, total int64

	mu    sync.Mutex
	byKey map[string]int64
	sum   int64
}

func newBodyBudget(maxBody int64) *bodyBudget {
	return &bodyBudget{maxBody: maxBody, perKey: 2 * maxBody, total: 8 * maxBody, byKey: map[string]int64{}}
}

// bodyRetry is the Retry-After of a request refused for the bodies in
// progress: a request of the limit's size takes about a second over a
// local network.
const bodyRetry = tooManyOpenRetry

// reserve counts r's body against the key with id and returns what to
// call once the request ends, or an error (rate_limited, 429) when the
// key's bodies in progress, or every key's, would pass their bound. A body
// of no declared length is counted as it is read: r.Body is wrapped, and
// its read fails with that error when a piece would pass a bound.
func (b *bodyBudget) reserve(id string, r *http.Request) (func(), error) {
	n := r.ContentLength
	if r.Body == nil || r.Body == http.NoBody || n == 0 {
		return func() {}, nil
	}
	if n < 0 {
		c := &countedBody{ReadCloser: r.Body, b: b, id: id}
		r.Body = c
		return sync.OnceFunc(func() { b.give(id, c.counted()) }), nil
	}
	n = min(n, b.maxBody) // what MaxBytesReader lets through
	if err := b.take(id, n); err != nil {
		return nil, err
	}
	return sync.OnceFunc(func() { b.give(id, n) }), nil
}

// take counts n more bytes of the key with id, unless a bound would be
// passed.
func (b *bodyBudget) take(id string, n int64) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.byKey[id]+n > b.perKey {
		return ipcmesh.RateLimited(fmt.Sprintf("this key's requests in progress carry %s of bodies, and this one %s more: the face holds at most %s for one key at once (twice its body limit); wait for one to end, or send large content one piece at a time",
			human.Size(int(b.byKey[id])), human.Size(int(n)), human.Size(int(b.perKey))), bodyRetry)
	}
	if b.sum+n > b.total {
		return ipcmesh.RateLimited(fmt.Sprintf("the face's requests in progress carry %s of bodies, the most it holds at once: send this one again in a moment",
			human.Size(int(b.sum))), bodyRetry)
	}
	b.byKey[id] += n
	b.sum += n
	return nil
}

// give uncounts n bytes of the key with id.
func (b *bodyBudget) give(id string, n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sum -= n
	if b.byKey[id] -= n; b.byKey[id] <= 0 {
		delete(b.byKey, id)
	}
}

// inProgress is the bytes of bodies in progress of the key with id.
func (b *bodyBudget) inProgress(id string) int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.byKey[id]
}

// countedBody counts a body of no declared length as it is read.
type countedBody struct {
	io.ReadCloser
	b  *bodyBudget
	id string

	mu sync.Mutex
	n  int64
}

func (c *countedBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	if n > 0 {
		if terr := c.b.take(c.id, int64(n)); terr != nil {
			return 0, terr
		}
		c.mu.Lock()
		c.n += int64(n)
		c.mu.Unlock()
	}
	return n, err
}

// counted is how much has been counted of the body.
func (c *countedBody) counted() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}
