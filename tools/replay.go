package tools

import (
	"context"
	"slices"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// keepReplays is how many results of calls that named an idempotency key
// a server remembers: a retry comes within seconds of its first try, so a
// few suffice, and each may hold a page of mail.
const keepReplays = 8

// replays remembers the results of recent tool calls that name an
// idempotency key (IdempotencyMeta), so that a retry of a call whose
// answer was lost gets that answer rather than a second run. A send needs
// no such help (the broker stores a message id once), but check marks
// what it returns read: the bridge's retry of a check the face had
// answered would otherwise find the inbox empty and tell the model "no
// new messages" about mail it never saw.
type replays struct {
	mu    sync.Mutex
	byKey map[string]*replay
	order []string // keys, oldest first
}

// replay is one call's result, once done is closed; res is nil if the
// call failed, and then a retry runs anew.
type replay struct {
	done chan struct{}
	res  *mcp.CallToolResult
}

// do returns the result of run for key: a retry of a call that succeeded
// gets its result again, and one that comes while the first try is still
// running waits for it. An empty key runs run.
func (r *replays) do(ctx context.Context, key string, run func() (*mcp.CallToolResult, error)) (*mcp.CallToolResult, error) {
	if key == "" {
		return run()
	}
	for {
		rp, first := r.begin(key)
		if first {
			res, err := run()
			r.finish(key, rp, res, err)
			return res, err
		}
		select {
		case <-rp.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if rp.res != nil {
			return rp.res, nil
		}
	}
}

// begin returns key's replay, and whether this call made it (and must
// finish it).
func (r *replays) begin(key string) (*replay, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if rp, ok := r.byKey[key]; ok {
		return rp, false
	}
	if r.byKey == nil {
		r.byKey = make(map[string]*replay)
	}
	rp := &replay{done: make(chan struct{})}
	r.byKey[key] = rp
	r.order = append(r.order, key)
	// The oldest answer goes, never a try still running: its retry must
	// find it.
	for i, k := range r.order {
		if len(r.order) <= keepReplays {
			break
		}
		select {
		case <-r.byKey[k].done:
			delete(r.byKey, k)
			r.order = slices.Delete(r.order, i, i+1)
		default:
			continue
		}
		break
	}
	return rp, true
}

// finish records the outcome of key's first try. A failure is forgotten,
// so that the next try runs.
func (r *replays) finish(key string, rp *replay, res *mcp.CallToolResult, err error) {
	if err == nil && res != nil && !res.IsError {
		rp.res = res
	} else {
		r.mu.Lock()
		if r.byKey[key] == rp {
			delete(r.byKey, key)
			r.order = slices.DeleteFunc(r.order, func(k string) bool { return k == key })
		}
		r.mu.Unlock()
	}
	close(rp.done)
}
