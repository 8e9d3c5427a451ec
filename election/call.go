package election

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/ipc"
	"github.com/ipcmesh/ipcmesh/natsstore"
)

// DefaultAnswerTimeout is how long a request may go unanswered beyond the
// wait it asks for, unless Config.AnswerTimeout says otherwise. A broker
// answers in milliseconds, even behind a slow disk; one that is stopped
// (Ctrl-Z) or hung holds the port without answering, and without this
// bound every caller would wait with it for ever.
const DefaultAnswerTimeout = 10 * time.Second

// backupTimeout bounds a backup, which copies the whole store.
const backupTimeout = 10 * time.Minute

// Call sends a request to the broker and decodes its answer into out. If
// the broker is lost before answering, the same request goes to the next
// broker: every op is idempotent or carries an id the broker dedupes by. A
// request refused as rate_limited was not carried out: it is sent again
// once the broker's retry_after has passed, so a busy peer is paced rather
// than failed. A request the broker does not answer in time (Config.AnswerTimeout
// past the wait it asks for) fails with ErrNotAnswering, naming the broker;
// one whose broker was lost, when the call ends before another takes its
// place, with ErrAnswerLost.
func (p *Peer) Call(ctx context.Context, op string, in, out any) error {
	_, err := p.call(ctx, op, in, out)
	return err
}

// call is Call, and reports whether the request was sent again after its
// broker was lost: the answer may then be to a request the lost broker
// had carried out already.
func (p *Peer) call(ctx context.Context, op string, in, out any) (resent bool, err error) {
	due := dueIn(op, in, p.cfg.AnswerTimeout)
	sent := false // the request went to a broker lost before it answered
	for {
		c, err := p.current(ctx)
		if err == nil {
			// A call whose context has ended writes nothing (ipc.Client.Call
			// refuses it unwritten): said here, its caller knows so.
			err = ctx.Err()
		}
		if err != nil {
			if sent {
				return sent, &answerLost{op: op, err: err}
			}
			if cerr := ctx.Err(); cerr != nil && errors.Is(err, cerr) {
				return sent, &notSent{err}
			}
			return sent, err
		}
		err = p.callOn(ctx, c, due, op, in, out)
		if op == ipc.OpRegister && unanswered(err) {
			// The broker holds the register and may still carry it out,
			// binding this connection to the name while the peer, told
			// the call failed, goes on as the name it had: its sends
			// would go out under the new name, its checks read that
			// name's mail. A connection whose name is in doubt is not
			// used again: closed, whatever the broker does with it ends
			// with it, and the peer rejoins as after a lost connection,
			// as the name it knows. The register called again resumes
			// the session the broker made, if it made one, by the
			// session id the data folder keeps for it.
			c.Close()
		}
		if errors.Is(err, ipc.ErrConnLost) {
			p.markLost(c)
			sent = true
			continue
		}
		var e *ipcmesh.Error
		if errors.As(err, &e) && e.Code == ipcmesh.CodeRateLimited {
			wait := min(max(e.RetryAfter(), time.Millisecond), 5*time.Second)
			select {
			case <-time.After(wait):
				continue
			case <-ctx.Done():
				if !sent {
					// The broker refused the request without carrying it out.
					return sent, &notSent{ctx.Err()}
				}
				return sent, ctx.Err()
			case <-p.closing:
				return sent, ErrClosed
			}
		}
		return sent, err
	}
}

// unanswered reports whether err ended a call whose request may have
// reached the broker without its answer reaching the peer: the broker did
// not answer in time, or the caller stopped waiting.
func unanswered(err error) bool {
	return errors.Is(err, ErrNotAnswering) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}

// ErrAnswerLost is what the errors of a peer's calls match (errors.Is)
// when the request went to a broker that was lost before it answered, and
// no broker took its place before the call ended. The lost broker may
// have carried the request out: a send may be stored. Sent again with
// the same id, it is carried out once.
var ErrAnswerLost = errors.New("the broker was lost before it answered")

// answerLost is ErrAnswerLost for op, with the error that ended the call
// while it waited for the next broker.
type answerLost struct {
	op  string
	err error
}

func (e *answerLost) Error() string {
	return fmt.Sprintf("the broker was lost before it answered %s (it may have carried it out), and no broker took its place: %v", e.op, e.err)
}

func (e *answerLost) Unwrap() error { return e.err }

func (e *answerLost) Is(target error) bool { return target == ErrAnswerLost }

// ErrNotSent is what the errors of a peer's calls match (errors.Is) when
// the call's context ended before its request was written to any broker:
// before the call began, while the peer waited for a broker (joining, or
// after its broker was lost), or while it waited out a rate_limited
// refusal. No broker carried the request out. The error matches the
// context's error too, and says what it says.
var ErrNotSent = errors.New("the request was not sent")

// notSent is ErrNotSent with the context's error that ended the call.
type notSent struct{ err error }

func (e *notSent) Error() string { return e.err.Error() }

func (e *notSent) Unwrap() error { return e.err }

func (e *notSent) Is(target error) bool { return target == ErrNotSent }

// callOn sends a request on c and waits for its answer at most due: past
// that, it fails with ErrNotAnswering unless ctx ended first.
func (p *Peer) callOn(ctx context.Context, c *ipc.Client, due time.Duration, op string, in, out any) error {
	if c.Broker().Cluster {
		// A broker on a NATS cluster may wait out a leader's election
		// before it answers, as long as a write of the cluster may wait:
		// told "did not answer, kill it" then, a person killed a broker
		// that was about to answer.
		due += natsstore.DefaultWriteTimeout
	}
	dueAt := time.Now().Add(due)
	cctx, cancel := context.WithDeadline(ctx, dueAt)
	defer cancel()
	err := c.Call(cctx, op, in, out)
	if errors.Is(err, context.DeadlineExceeded) {
		// Whose deadline passed is told by the deadlines, not by
		// ctx.Err: ctx's timer may not have fired yet when its
		// deadline ends the call.
		if d, ok := ctx.Deadline(); ok && !d.After(dueAt) {
			return err
		}
		return &notAnswering{pid: c.Broker().PID, addr: p.cfg.Addr, op: op, due: due}
	}
	return err
}

// dueIn is how long op may take to be answered: the wait it asks the
// broker for, as the broker caps it (ipc.WaitOf), or the time its body may
// take to cross to a cluster, back to be checked, and into the broker's
// view (natsstore.TransferTime), plus grace (DefaultAnswerTimeout when 0).
func dueIn(op string, in any, grace time.Duration) time.Duration {
	if grace <= 0 {
		grace = DefaultAnswerTimeout
	}
	var wait time.Duration
	switch r := in.(type) {
	case ipc.CheckRequest:
		wait = ipc.WaitOf(r.WaitMS)
	case ipc.WaitReplyRequest:
		wait = ipc.WaitOf(r.WaitMS)
	// A body is carried to a NATS cluster, read back to check it, and
	// read by the broker's view before the send is answered: a broker
	// busy with 8 MiB for a slow cluster is not one that stopped
	// answering.
	case ipc.SendRequest:
		wait = 3 * natsstore.TransferTime(len(r.Content))
	case ipc.BroadcastRequest:
		wait = 3 * natsstore.TransferTime(len(r.Content))
	case ipc.ShareRequest:
		wait = 3 * natsstore.TransferTime(len(r.Content))
	}
	if op == ipc.OpBackup {
		wait = backupTimeout
	}
	return wait + grace
}
