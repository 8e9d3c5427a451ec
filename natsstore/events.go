package natsstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/store"
)

// An event is one write, as the log holds it. Every broker applies every
// event to its view in the log's order, with the event's time as the
// view's clock, so that all views make the same decisions: the same seq
// for a message, the same duplicate, the same name_taken.
type event struct {
	ID   string          `json:"id"` // origin "." counter: the log's dedup id
	Op   string          `json:"op"`
	Time time.Time       `json:"time"`
	Args json.RawMessage `json:"args"`
	// Keep is the history retention of the broker that wrote the event,
	// by which the views sweep when they apply it (store.SweepWithin); 0
	// in events of older brokers: the view's own.
	Keep time.Duration `json:"keep,omitempty"`
	// IfLost is, in an opBlob stub, the event without its bodies, each in
	// the words of its loss: what the views apply should the object store
	// lose the event (lost.go). Absent from the stubs of older brokers, and
	// from those of events whose op has no body to stand for.
	IfLost json.RawMessage `json:"if_lost,omitempty"`
}

// The ops of the log, one per write of the store.
const (
	opAppend        = "append"
	opAck           = "ack"
	opPutSession    = "put_session"
	opRevokeSession = "revoke_session"
	opRename        = "rename"
	opSetStatus     = "set_status"
	opTouch         = "touch"
	opCreateChannel = "create_channel"
	opJoinChannel   = "join_channel"
	opLeaveChannel  = "leave_channel"
	opShare         = "share"
	opPutKey        = "put_key"
	opRevokeKeys    = "revoke_keys"
	// opBlob stands for an event too large for one NATS message: the event
	// itself is in the object store under its id.
	opBlob = "blob"
)

// appendArgs and shareArgs carry the limits of the broker that made the
// write, by which every view decides it (store.Limits); an event written
// without them is decided by the view's own.
type appendArgs struct {
	Drafts []store.Draft `json:"drafts"`
	Limits store.Limits  `json:"limits"`
}

type shareArgs struct {
	ipcmesh.Shared
	Limits store.Limits `json:"limits"`
}

type ackArgs struct {
	Name string   `json:"name"`
	IDs  []string `json:"ids"`
}

type nameArgs struct {
	Name string `json:"name"`
}

// renameArgs carries no id of the session renamed, which the record of
// the rename keeps (store.RenameResult.OldSessionID): each view reads it
// from its own sessions as it applies the event, in the log's order, so
// every view keeps the same one, from the events of older brokers too.
type renameArgs struct {
	Old       string        `json:"old"`
	Session   store.Session `json:"session"`
	RequestID string        `json:"request_id"`
}

// statusArgs with KeepDescription keeps the description the view holds
// when it applies the event, in the log's order. Description then holds
// the writer's own view's, for the views of older brokers, which know
// only Description and set it.
type statusArgs struct {
	Name            string `json:"name"`
	Status          string `json:"status"`
	Description     string `json:"description"`
	KeepDescription bool   `json:"keep_description,omitempty"`
}

type membersArgs struct {
	Name    string   `json:"name"`
	Members []string `json:"members"`
}

type leaveArgs struct {
	Name   string `json:"name"`
	Member string `json:"member"`
}

type revokeArgs struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// outcome is what applying an event gave: the value the store method
// returned, and the refusal (an *ipcmesh.Error) if it refused.
type outcome struct {
	val any
	err error
}

// write appends one event to the log and returns what applying it to this
// broker's view gave, once the cluster has acked it at the stream's
// replication level and the view has applied it.
func (s *Store) write(ctx context.Context, op string, args any) (any, error) {
	raw, err := json.Marshal(args)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", op, err)
	}
	ev := event{ID: s.newID(), Op: op, Time: time.Now().UTC().Round(0), Args: raw, Keep: s.viewNow().Options().HistoryRetention}
	data, err := json.Marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", op, err)
	}
	done := make(chan outcome, 1)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, store.ErrClosed
	}
	if s.failed != nil {
		err := s.failed
		s.mu.Unlock()
		return nil, err
	}
	s.pending[ev.ID] = done
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.pending, ev.ID)
		s.mu.Unlock()
	}()

	if len(data) > s.maxInline {
		// The body's upload, and its read back (putBody), have time for
		// its size, as the views' read does (TransferTime) each way: an
		// 8 MiB body shared the event's 5 s with it. Made again after a
		// stop, it puts the same object anew.
		transfer := 2 * TransferTime(len(data))
		uctx, release, err := s.rideOutStop(ctx, s.opts.WriteTimeout+transfer, stallGrace+transfer, func(ctx context.Context) error {
			s.asking()
			return s.putBody(ctx, ev.ID, data)
		})
		defer release()
		if err != nil {
			return nil, refused(op, "could not store "+opWords(op)+" (its large body)", s.offline(err))
		}
		ctx = uctx
		stub := event{ID: ev.ID, Op: opBlob, Time: ev.Time, IfLost: ifLost(ev, args, bodiesBucket(s.stream))}
		if data, _ = json.Marshal(stub); len(data) > s.maxInline {
			// Too many messages at once to say what each was.
			stub.IfLost = nil
			data, _ = json.Marshal(stub)
		}
	}
	// Published again after a stop of this process (rideOutStop), under
	// the same id, the event is stored once.
	var seq uint64
	ctx, release, err := s.rideOutStop(ctx, s.opts.WriteTimeout, stallGrace, func(ctx context.Context) (err error) {
		seq, err = s.publish(ctx, ev.ID, data)
		return err
	})
	defer release()
	if err != nil {
		return nil, refused(op, "could not store "+opWords(op), s.offline(err))
	}
	// Acked: the event is in the log and every view will apply it. This
	// one usually has it from the consumer within a fraction of a
	// millisecond; if not, it reads the log up to it itself.
	select {
	case o := <-done:
		return o.val, o.err
	case <-time.After(s.consumerPatience()):
	}
	select {
	case o := <-done:
		return o.val, o.err
	default:
		s.silentAt.Store(s.delivered.Load() + 1)
	}
	if err := s.catchUp(ctx, seq); err != nil {
		return nil, unapplied(op, err)
	}
	select {
	case o := <-done:
		return o.val, o.err
	case <-s.quit:
		return nil, store.ErrClosed
	case <-s.dead:
		return nil, s.failure()
	case <-ctx.Done():
		return nil, unapplied(op, ctx.Err())
	}
}

// unapplied is the error of a write of op that the cluster acked and
// this broker's view did not apply, for err: in time, when the view lags
// far behind the log (a broker that was stopped while other hosts wrote,
// or that has a flood of their writes to apply) and the request has a
// time limit, as a register has; or at all, when the log cannot be read
// now. The write stands: every view applies it, this one as soon as it
// reads that far, so the error says that the cluster has it and that it
// takes effect, as unavailable, a request that may have been carried
// out. It was said as an internal failure, in the words of the log's
// ops ("put_session was stored in the cluster, but this broker's view
// could not read it back"), with nothing for the person to do. A view
// that failed, or a store closing, is said as before.
func unapplied(op string, err error) error {
	if errors.Is(err, store.ErrClosed) || !unanswered(err) && !retryable(err) && !errors.Is(err, jetstream.ErrMsgNotFound) {
		return fmt.Errorf("%s was stored in the cluster, but this broker's view could not apply it: %w", opWords(op), err)
	}
	again := "; made again, the request finds it done"
	if op == opAppend {
		again = "; a message sent again with the same id is never stored twice"
	}
	return &ipcmesh.Error{
		Code: ipcmesh.CodeUnavailable,
		Message: fmt.Sprintf("could not confirm %s: the NATS cluster stored it, but this broker had not applied it in time "+
			"(it lags behind the cluster's log, after it was stopped or under a flood of other hosts' writes, or cannot read the log now); "+
			"it takes effect all the same, on this host once the broker has caught up%s (%v)", opWords(op), again, err),
	}
}

// consumerPatience is how long a write waits for the consumer to bring
// its event before it reads the log itself: catchUpAfter, or nothing
// while the consumer has delivered nothing since a write last had to.
//
// A consumer whose server hangs is made anew by the client library, on a
// server its cluster picks, maybe the hung one again, each try waiting
// out 10 s: for a minute and more it delivers nothing, and every write of
// the host waited catchUpAfter (100 ms) before it read its event itself.
// The first event the consumer delivers again restores the wait.
func (s *Store) consumerPatience() time.Duration {
	if s.silentAt.Load() == s.delivered.Load()+1 {
		return 0
	}
	return catchUpAfter
}

// publishAttempt bounds one try of a publish. A request in flight to a
// server that dies is never answered, and one made while the stream
// elects a leader finds nobody: either way the event is published again,
// under the same id so that the stream stores it once, until the cluster
// acks it or the write's time is up.
const publishAttempt = time.Second

// publishPause is the pause between two tries of a publish.
const publishPause = 20 * time.Millisecond

// publish appends one event to the log, trying until ctx ends, and
// returns its sequence.
func (s *Store) publish(ctx context.Context, id string, data []byte) (uint64, error) {
	for {
		seq, err := s.publishOnce(ctx, id, data)
		if err == nil {
			return seq, nil
		}
		if ctx.Err() != nil || !retryable(err) {
			return 0, err
		}
		s.stops.pause(ctx, publishPause)
	}
}

// asking calls Options.asking, if set, as a request of a write to the
// cluster begins.
func (s *Store) asking() {
	if s.opts.asking != nil {
		s.opts.asking()
	}
}

// publishOnce is one try of a publish.
func (s *Store) publishOnce(ctx context.Context, id string, data []byte) (uint64, error) {
	actx, cancel := context.WithTimeout(ctx, publishAttempt)
	defer cancel()
	s.asking()
	msg := &nats.Msg{Subject: s.subject, Data: data}
	ack, err := s.js.PublishMsg(actx, msg, jetstream.WithMsgID(id), jetstream.WithExpectStream(s.stream))
	s.stops.endedBy(actx)
	if err != nil {
		return 0, err
	}
	return ack.Sequence, nil
}

// retryable tells the errors of a cluster that is changing leaders or of
// a connection moving to another server from a refusal.
func retryable(err error) bool {
	var api *jetstream.APIError
	if errors.As(err, &api) && (api.ErrorCode == errCodeDuplicateInProcess || api.ErrorCode == errCodeClusterNotAvailable) {
		// The first try is still being replicated, or the cluster has
		// no meta leader for now.
		return true
	}
	var servers *awaitingServers
	// A read of an object whose time ran out ends with the deadline of
	// the pipe the client library reads it through ("read pipe: i/o
	// timeout"), not with its context's. A request whose answer was
	// lost as the connection went to another server ends with
	// ErrDisconnected: unanswered, as one that timed out.
	return errors.As(err, &servers) || errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, nats.ErrDisconnected) ||
		errors.Is(err, nats.ErrTimeout) || errors.Is(err, nats.ErrConnectionReconnecting) || errors.Is(err, nats.ErrNoResponders) ||
		cutOff(err)
}

// cutOff tells a write to the connection that failed as its server went
// away ("connection reset by peer", "broken pipe", or the socket the
// client library closed to reconnect): the client is on its way to
// another server, and what was written may or may not have reached the
// cluster, as with a request whose answer was lost.
func cutOff(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed)
}

// errCodeDuplicateInProcess is JetStream's answer to a publish whose id
// an earlier try, not yet committed, carries ("duplicate message id is in
// process"): the earlier try may still be acked, or fail with the quorum.
const errCodeDuplicateInProcess jetstream.ErrorCode = 10158

// errCodeClusterNotAvailable is JetStream's answer, from a server that
// knows of no meta leader, to a request of its API ("JetStream system
// temporarily unavailable"): a cluster electing one, or without quorum.
const errCodeClusterNotAvailable jetstream.ErrorCode = 10008

// opWords names what a write of op does, in the words of the person
// whose request it carries: the op names are the log's.
func opWords(op string) string {
	switch op {
	case opAppend:
		return "the message"
	case opAck:
		return "that the messages were read"
	case opPutSession:
		return "the session"
	case opRevokeSession:
		return "the end of the session"
	case opRename:
		return "the rename"
	case opSetStatus:
		return "the status"
	case opTouch:
		return "when the instances were last seen"
	case opCreateChannel:
		return "the new channel"
	case opJoinChannel:
		return "the channel's new members"
	case opLeaveChannel:
		return "the leave from the channel"
	case opShare:
		return "the shared value"
	case opPutKey:
		return "the new access key"
	case opRevokeKeys:
		return "the revoke of the access keys"
	}
	return op
}

// unavailable is the error of a write the cluster did not ack. What the
// client reads is what the person must do; the NATS error is kept for the
// log. A message sent again is stored once, and a sender who knows it
// sends it again at once: that is said of the messages alone, not of a
// name held, a channel made or a value shared.
func unavailable(what string, err error) error {
	return unavailableAgain(what, "", err)
}

// refused is unavailable for a write of op, which says that a message
// sent again is stored once when op stores messages.
func refused(op, what string, err error) error {
	if op == opAppend {
		return unavailableAgain(what, " (a message sent again with the same id is never stored twice)", err)
	}
	return unavailable(what, err)
}

// errNoServer marks the error of a request that got no answer while this
// broker was connected to none of the cluster's servers (offline).
var errNoServer = errors.New("connected to no server of the cluster")

// offline is err, marked with errNoServer when it is a request that got
// no answer and the connection is to none of the cluster's servers at
// the end of it: the client library holds a request while it reconnects,
// and its timeout alone would have the error say that the cluster has no
// quorum or is electing, where its servers are down or out of reach.
func (s *Store) offline(err error) error {
	if err == nil || !retryable(err) || s.nc == nil || s.nc.IsConnected() {
		return err
	}
	return fmt.Errorf("%w: %w", errNoServer, err)
}

func unavailableAgain(what, again string, err error) error {
	why := "the NATS cluster did not acknowledge it"
	switch {
	case errors.Is(err, errBodyDamaged):
		why = fmt.Sprintf("the NATS cluster stored it damaged each of the %d times it was sent (read back, it was not what was sent: its servers changed leaders again and again, or one of them is faulty)", maxPuts)
	case errors.Is(err, errNoServer), errors.Is(err, nats.ErrConnectionClosed), errors.Is(err, nats.ErrConnectionReconnecting), errors.Is(err, nats.ErrNoServers):
		why = "this broker is not connected to the NATS cluster (its servers are down or unreachable)"
	case retryable(err):
		why = "the NATS cluster did not acknowledge it in time: it has no quorum (most of its servers are down or cut off), is electing a new leader (for up to 10 s after one of its servers stopped), or is unreachable"
	}
	return &ipcmesh.Error{
		Code:    ipcmesh.CodeUnavailable,
		Message: fmt.Sprintf("%s: %s; nothing was acknowledged: try again once the cluster is back%s (%v)", what, why, again, err),
	}
}

func (s *Store) failure() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failed
}
