package natsstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// staleReadFor bounds how long readEvent asks again for an event that the
// replica answering says it does not have.
const staleReadFor = 10 * time.Second

// readAttempt bounds one try of a read of one event. A server that has
// the event answers within milliseconds; one that hangs never does.
const readAttempt = time.Second

// eventReader reads one event of the log by its sequence, as
// jetstream.Stream's GetMsg does.
type eventReader interface {
	GetMsg(ctx context.Context, seq uint64, opts ...jetstream.GetMsgOpt) (*jetstream.RawStreamMsg, error)
}

// readEvent reads event seq, which the log is known to hold: it was acked,
// or the consumer delivered a later one. Any replica answers a read
// (AllowDirect), and one a moment behind the leader, as one is after a
// node came back or under load, says "message not found" for an event the
// leader has acked: that answer is asked again, as a timeout is, until
// another replica or the same one caught up gives the event.
func (s *Store) readEvent(ctx context.Context, seq uint64) (*jetstream.RawStreamMsg, error) {
	giveUp := time.Now().Add(staleReadFor)
	for {
		raw, err := s.getEvent(ctx, seq)
		if !errors.Is(err, jetstream.ErrMsgNotFound) || time.Now().After(giveUp) {
			return raw, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-s.quit:
			return nil, err
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// getEvent asks for event seq until a server answers, or ctx ends.
//
// A direct read goes to any replica, the one of a server that hangs
// (SIGSTOP, a host cut off without a reset) too: the other servers keep
// handing it its share of the reads until their route to it times out,
// minutes later, and it answers none. Each such read waited out a try of
// 3 s, so a view that lagged 40 events behind took half a minute to catch
// up, and the write waiting for it held back every request of its broker.
// So a read that goes unanswered has the next asked of the log's leader,
// which its peers soon elect elsewhere than a server that hangs, and the
// reads after it too; one the leader does not answer (it is being
// elected) has the next asked of the replicas again.
func (s *Store) getEvent(ctx context.Context, seq uint64) (*jetstream.RawStreamMsg, error) {
	var raw *jetstream.RawStreamMsg
	err := retry(ctx, func(ctx context.Context) error {
		leader := s.leaderLog != nil && s.readLeader.Load()
		var from eventReader = s.log_
		if leader {
			from = s.leaderLog
		}
		actx, cancel := context.WithTimeout(ctx, readAttempt)
		defer cancel()
		var err error
		raw, err = from.GetMsg(actx, seq)
		if err != nil && s.leaderLog != nil && ctx.Err() == nil && retryable(err) {
			s.readLeader.CompareAndSwap(leader, !leader)
		}
		return err
	})
	return raw, err
}

// leaderReads reads events of the log through the JetStream API's message
// get, which only the stream's leader answers, where the direct get of
// jetstream.Stream (AllowDirect) goes to any replica.
type leaderReads struct {
	nc      *nats.Conn
	subject string // $JS.API.STREAM.MSG.GET.<stream>
}

func newLeaderReads(nc *nats.Conn, stream string) leaderReads {
	return leaderReads{nc: nc, subject: "$JS.API.STREAM.MSG.GET." + stream}
}

// GetMsg reads event seq from the leader.
func (l leaderReads) GetMsg(ctx context.Context, seq uint64, _ ...jetstream.GetMsgOpt) (*jetstream.RawStreamMsg, error) {
	req, err := json.Marshal(struct {
		Seq uint64 `json:"seq"`
	}{seq})
	if err != nil {
		return nil, err
	}
	msg, err := l.nc.RequestWithContext(ctx, l.subject, req)
	if err != nil {
		return nil, err
	}
	var resp struct {
		Error   *jetstream.APIError `json:"error"`
		Message *struct {
			Seq  uint64    `json:"seq"`
			Data []byte    `json:"data"`
			Time time.Time `json:"time"`
		} `json:"message"`
	}
	if err := json.Unmarshal(msg.Data, &resp); err != nil {
		return nil, fmt.Errorf("read event %d from the leader of the log: %w", seq, err)
	}
	switch {
	case resp.Error != nil && resp.Error.ErrorCode == jetstream.JSErrCodeMessageNotFound:
		return nil, jetstream.ErrMsgNotFound
	case resp.Error != nil:
		return nil, resp.Error
	case resp.Message == nil:
		return nil, jetstream.ErrInvalidJetStreamResponse
	}
	return &jetstream.RawStreamMsg{Sequence: resp.Message.Seq, Data: resp.Message.Data, Time: resp.Message.Time}, nil
}
